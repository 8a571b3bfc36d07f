"""A conversation whose turns a load balancer sends to different instances: two server processes sharing
stored responses through Blob Storage (Azurite)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from openai import NotFoundError, OpenAI

from tests.support.azurite import Azurite
from tests.support.server import SimulatorProcess

LATENCY = {"enabled": True, "operations": {"responses": {"ttftMs": 1000, "ttftStdMs": 0, "tokensPerSecond": 100}}}


@pytest.fixture(scope="module")
def instances(azurite: Azurite) -> Iterator[tuple[SimulatorProcess, SimulatorProcess]]:
    env = {
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "RESPONSES_CONTAINER": "sharedresponses",
        "RATE_LIMIT_TABLE": "sharedresponseslimits",
        "RUNTIME_CONFIG_TABLE": "sharedresponsesconfig",
        "SIMULATOR_COMPLETION_TOKENS": "40",
        "SIMULATOR_LATENCY_CONFIG": json.dumps(LATENCY),
    }
    with (
        SimulatorProcess({**env, "SIMULATOR_SEED": "1"}) as first,
        SimulatorProcess({**env, "SIMULATOR_SEED": "2"}) as second,
    ):
        yield first, second


def client(process: SimulatorProcess) -> OpenAI:
    return OpenAI(base_url=f"{process.url}/openai/v1/", api_key=process.api_key, max_retries=0)


def test_a_two_turn_conversation_across_two_instances(instances: tuple[SimulatorProcess, SimulatorProcess]) -> None:
    one, two = (client(process) for process in instances)
    first = one.responses.create(model="gpt-4o", input="Turn one, on instance one.")
    second = two.responses.create(model="gpt-4o", input="Turn two, on instance two.", previous_response_id=first.id)
    assert first.usage is not None and second.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens
    assert one.responses.retrieve(second.id).output_text == second.output_text
    assert [item.id for item in two.responses.input_items.list(first.id)] == [
        item.id for item in one.responses.input_items.list(first.id)
    ]
    two.responses.delete(first.id)
    with pytest.raises(NotFoundError):
        one.responses.retrieve(first.id)


def test_a_background_response_is_polled_and_resumed_on_another_instance(
    instances: tuple[SimulatorProcess, SimulatorProcess],
) -> None:
    one, two = (client(process) for process in instances)
    created = one.responses.create(model="gpt-4o", input="Background on instance one.", background=True)
    assert two.responses.retrieve(created.id).status in ("queued", "in_progress")
    events = list(two.responses.retrieve(created.id, stream=True, starting_after=1))
    assert events[0].sequence_number == 2 and events[-1].type == "response.completed"
    deadline = time.monotonic() + 5
    while two.responses.retrieve(created.id).status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert one.responses.retrieve(created.id).output_text == events[-1].response.output_text
