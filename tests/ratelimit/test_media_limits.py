"""Audio and image deployments through the limiter over both stores (memory, and Table Storage on Azurite with
leases): requests per minute for whisper, images per minute for image deployments, AOAI's 429 wording."""

from __future__ import annotations

import pytest

from simulator.deployments import Deployment
from simulator.errors import OpenAIError
from simulator.models import find_model
from simulator.ratelimit import RateLimitConfig, RateLimiter
from tests.ratelimit.conftest import StoreFactory
from tests.ratelimit.factory import FakeClock, chat


@pytest.fixture(params=[0.0, 0.2])
def lease_fraction(request: pytest.FixtureRequest) -> float:
    return request.param


async def test_whisper_requests_and_images_per_minute(stores: StoreFactory, lease_fraction: float) -> None:
    clock = FakeClock()
    limiter = RateLimiter(stores(), RateLimitConfig(lease_fraction=lease_fraction), clock=clock)
    try:
        whisper = Deployment("whisper", find_model("whisper"), requests_per_minute=3)
        for _ in range(3):
            await limiter.admit(chat(whisper))
        with pytest.raises(OpenAIError) as refused:
            await limiter.admit(chat(whisper))
        assert refused.value.status == 429 and "call rate limit" in refused.value.message
        assert "Transcriptions_Create" not in refused.value.message  # the factory's request is a chat one

        painter = Deployment("painter", find_model("gpt-image-1"), images_per_minute=5)
        await limiter.admit(chat(painter, n=4))
        with pytest.raises(OpenAIError) as refused:
            await limiter.admit(chat(painter, n=2))
        assert "image rate limit" in refused.value.message
        # A charge counts until its bucket's end plus 60 s (windows.py), a leased one from the lease's expiry (1 s).
        assert 0 < int(refused.value.headers["retry-after-ms"]) <= 61_252
        if not lease_fraction:  # exact: the fifth image fits; leased, it may sit in a lease (docs/rate-limits.md)
            await limiter.admit(chat(painter, n=1))
        await limiter.renewals_done()
        clock.advance(63)
        await limiter.admit(chat(painter, n=5))
        await limiter.admit(chat(whisper))
    finally:
        await limiter.renewals_done()
        await limiter.aclose()
