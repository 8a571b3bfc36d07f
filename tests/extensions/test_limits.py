"""Extensions' limiters count in the rate-limit store: one limit holds across instances sharing Table Storage."""

from __future__ import annotations

import pytest

from simulator.errors import OpenAIError
from simulator.extensions.limits import LimitStores, RequestLimiter
from simulator.ratelimit import RateLimitConfig
from tests.ratelimit.conftest import table_config


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("backend", ["memory", "table"])
async def test_a_limit_holds_across_instances(backend: str, request: pytest.FixtureRequest) -> None:
    config = RateLimitConfig() if backend == "memory" else table_config(request.getfixturevalue("azurite"))
    clock = Clock(1_000.2)
    if backend == "memory":
        shared = LimitStores(config)
        instances = [shared, shared]
    else:
        instances = [LimitStores(config), LimitStores(config)]  # two instances: two clients, one table
    limiters = [RequestLimiter(stores, "documents", 3, 1.0, clock=clock) for stores in instances]
    try:
        for stores in instances:
            await stores.start()
        admitted, refused = 0, []
        for turn in range(8):
            try:
                await limiters[turn % 2].check()
                admitted += 1
            except OpenAIError as error:
                refused.append(error)
        assert admitted == 3
        assert {error.status for error in refused} == {429}
        assert refused[0].headers["retry-after"] == "1" and refused[0].headers["retry-after-ms"] == "801"
        assert "Requests to documents have exceeded the call rate limit of 3 per 1 second" in refused[0].message
        clock.now = 1_001.0  # the next window
        await limiters[1].check()
        await limiters[0].check(key="another-model")  # a key of its own
    finally:
        for stores in {id(s): s for s in instances}.values():
            await stores.aclose()


async def test_a_store_that_fails_lets_requests_through() -> None:
    config = RateLimitConfig(connection_string="DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;"
                             "TableEndpoint=http://127.0.0.1:9/x;", store_timeout=0.5)  # fmt: skip
    stores = LimitStores(config)
    limiter = RequestLimiter(stores, "documents", 1, 1.0)
    try:
        for _ in range(3):
            await limiter.check()
    finally:
        await stores.aclose()
