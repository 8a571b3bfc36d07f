from __future__ import annotations

import random

import pytest

from simulator.latency import FAMILY_DEFAULTS, LatencyConfig, LatencyModel, LegacyLatency, MeanStd
from simulator.latency.profile import family_of
from simulator.models import Operation
from simulator.settings import SettingsError
from tests.latency.helpers import make_request


@pytest.mark.parametrize(
    ("model", "kind", "family"),
    [
        ("gpt-4o", "chat", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "chat", "gpt-4o-mini"),
        ("gpt-4.1-nano", "chat", "gpt-4.1-nano"),
        ("gpt-3.5-turbo", "chat", "gpt-35-turbo"),
        ("gpt-4-turbo-2024-04-09", "chat", "gpt-4-turbo"),
        ("text-embedding-3-large", "embedding", "text-embedding-3-large"),
        ("my-own-model", "chat", "gpt-4o"),
        ("my-embedder", "embedding", "text-embedding-ada-002"),
    ],
)
def test_family_is_longest_prefix_else_kind_default(model: str, kind: str, family: str) -> None:
    assert family_of(model, kind) == family


def test_resolution_order_family_operation_family_override_deployment() -> None:
    config = LatencyConfig.from_settings(
        document={
            "families": {"gpt-4o": {"ttftMs": 100}},
            "deployments": {"d": {"tokensPerSecond": 10}},
        },
        legacy=LegacyLatency(chat=MeanStd(20, 2)),
    )
    model = LatencyModel(config, random.Random(0))
    profile = model.profile(make_request().deployment, Operation.CHAT_COMPLETIONS)
    assert profile.ttft_ms == 100  # family override beats the legacy operation override
    assert profile.tokens_per_second == 10  # deployment beats everything
    assert profile.token_std_ms == 2  # from the legacy variable
    other = model.profile(make_request("gpt-4.1", deployment="e").deployment, Operation.CHAT_COMPLETIONS)
    assert other.ttft_ms == 20 and other.tokens_per_second == 50  # legacy applies to every chat model
    assert other.prefill_ms_per_token == 0


def test_legacy_embeddings_are_per_request_and_unset_values_keep_defaults() -> None:
    config = LatencyConfig.from_settings(legacy=LegacyLatency(embeddings=MeanStd(100, 30)))
    model = LatencyModel(config, random.Random(0))
    embedding = make_request("text-embedding-ada-002", operation=Operation.EMBEDDINGS)
    profile = model.profile(embedding.deployment, Operation.EMBEDDINGS)
    assert (profile.ttft_ms, profile.ttft_std_ms, profile.prefill_ms_per_token) == (100, 30, 0)
    chat = model.profile(make_request().deployment, Operation.CHAT_COMPLETIONS)
    assert chat == FAMILY_DEFAULTS["gpt-4o"]


def test_legacy_zero_mean_means_no_latency() -> None:
    config = LatencyConfig.from_settings(legacy=LegacyLatency(chat=MeanStd(0, 0.1)))
    plan = LatencyModel(config, random.Random(0)).plan(make_request(prompt_tokens=1000), 500, [1] * 5)
    assert plan.total == 0


def test_json_round_trip() -> None:
    document = {
        "enabled": False,
        "operations": {"chat": {"ttftMs": 5}},
        "families": {"gpt-4o": {"tokensPerSecond": None, "burstChars": 41}},
        "deployments": {"d": {"prefillMsPerToken": 0.5}},
        "translations": {"msPerMegabyte": 100, "stdMs": 10},
    }
    config = LatencyConfig.from_json(document)
    assert config.families["gpt-4o"].to_json() == {"tokensPerSecond": None, "burstTokens": 11}
    assert LatencyConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"deployments": {"d": {"ttftMs": -1}}}, "latency.deployments.d: 'ttftMs' must be a number >= 0"),
        ({"deployments": {"d": {"tokensPerSecond": 0}}}, "tokensPerSecond must be positive"),
        ({"families": {"x": {"speed": 1}}}, "unknown latency field(s) speed"),
        ({"operations": {"moderations": {}}}, "unknown operation(s) moderations"),
        ({"enabled": "yes"}, "latency.enabled must be true or false"),
        ({"deployments": {"d": {"burstTokens": 2.5}}}, "burstTokens must be a whole number"),
        ({"surprise": 1}, "unknown field(s) surprise"),
    ],
)
def test_invalid_documents_say_what_is_wrong(document: dict, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        LatencyConfig.from_json(document)
    assert message in str(caught.value)
