from __future__ import annotations

import pytest

from simulator.errors import OpenAIError
from simulator.runtime_config import MemoryConfigStore, RuntimeConfig, merge_patch, patched
from simulator.settings import Mode, SettingsError

INITIAL = {
    "mode": "generate",
    "deployments": {
        "chat": {"model": "gpt-4o", "tokensPerMinute": 30000},
        "embed": {"model": "text-embedding-3-small"},
    },
    "latency": {"deployments": {"chat": {"ttftMs": 100}}},
    "faults": {"chat": ["429; rate=0.1"]},
}


def initial() -> RuntimeConfig:
    return RuntimeConfig.from_json(INITIAL)


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 3}
    assert merge_patch(target, {"a": {"b": None, "x": 9}, "d": [3], "e": None}) == {"a": {"c": 2, "x": 9}, "d": [3]}
    assert target == {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 3}


def test_json_round_trip_reuses_the_deployments_file_shape() -> None:
    config = initial()
    assert config.deployments["chat"].tokens_per_minute == 30000
    assert config.to_json()["deployments"]["chat"] == {"model": "gpt-4o", "type": "standard", "tokensPerMinute": 30000}
    assert RuntimeConfig.from_json(config.to_json()) == config
    assert RuntimeConfig.from_json(config.to_json()).fingerprint() == config.fingerprint()


def test_patch_changes_only_what_it_names() -> None:
    config = patched(initial(), {"mode": "replay", "deployments": {"embed": None, "new": {"model": "gpt-4.1"}}})
    assert config.mode is Mode.REPLAY
    assert set(config.deployments) == {"chat", "new"}
    assert config.latency == initial().latency and config.faults == initial().faults


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"deployments": {"chat": {"tokensPerMinute": -5}}}, "deployment 'chat': 'tokensPerMinute' must be a positive"),
        ({"mode": "fast"}, "mode must be one of generate, record, replay"),
        ({"faults": {"chat": ["429; rate=2"]}}, "rate must be a probability from 0 to 1"),
        ({"latency": {"enabled": "no"}}, "latency.enabled must be true or false"),
        ({"limits": {}}, "unknown section(s) limits"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_a_bad_patch_is_a_400_saying_what_is_wrong(patch: object, message: str) -> None:
    with pytest.raises(OpenAIError) as caught:
        patched(initial(), patch)
    assert caught.value.status == 400
    assert message in caught.value.message


def test_extra_validation_hook() -> None:
    def no_record(config: RuntimeConfig) -> None:
        if config.mode is Mode.RECORD:
            raise SettingsError("mode record needs AZURE_OPENAI_ENDPOINT")

    with pytest.raises(OpenAIError, match="needs AZURE_OPENAI_ENDPOINT"):
        patched(initial(), {"mode": "record"}, no_record)


async def test_memory_store_swaps_and_notifies() -> None:
    store = MemoryConfigStore(initial())
    before = store.current
    seen: list[RuntimeConfig] = []
    store.subscribe(seen.append)
    after = await store.patch({"latency": {"enabled": False}})
    assert store.current is after and seen == [after]
    assert before.latency.enabled and not after.latency.enabled  # the old snapshot is untouched
    with pytest.raises(OpenAIError):
        await store.patch({"mode": "nope"})
    assert store.current is after and seen == [after]
    await store.patch({"latency": {"enabled": False}})  # no change: no notification
    assert seen == [after]
