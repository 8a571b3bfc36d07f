from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest

from simulator.context import OpenAIRequest, Upload
from simulator.latency import LatencyConfig, LatencyModel, LatencyPlan
from simulator.latency.config import LegacyLatency, MeanStd
from simulator.latency.model import Releases, draw
from simulator.models import Operation
from simulator.settings import SettingsError
from tests.latency.helpers import make_request

PROFILE = {"ttftMs": 400, "ttftStdMs": 120, "prefillMsPerToken": 0.1, "tokensPerSecond": 50, "tokenStdMs": 6}


def model_with(profile: dict, seed: int = 7, **config: object) -> LatencyModel:
    return LatencyModel(LatencyConfig.from_json({"deployments": {"d": profile}, **config}), random.Random(seed))


@pytest.mark.parametrize(("mean", "std"), [(400.0, 120.0), (20.0, 6.0), (5.0, 10.0)])
def test_draws_keep_configured_mean_and_std(mean: float, std: float) -> None:
    rng = random.Random(1)
    values = [draw(rng, mean, std) for _ in range(40_000)]
    assert statistics.fmean(values) == pytest.approx(mean, rel=0.02)
    assert statistics.stdev(values) == pytest.approx(std, rel=0.05)
    assert min(values) > 0


def test_draw_without_spread_is_exact() -> None:
    assert draw(random.Random(1), 12.5, 0) == 12.5
    assert draw(random.Random(1), 0, 5) == 0


def test_ttft_statistics_include_prefill() -> None:
    model = model_with(PROFILE)
    request = make_request(deployment="d", prompt_tokens=2000)  # + 200 ms of prefill
    ttfts = [model.plan(request, 10).ttft * 1000 for _ in range(20_000)]
    assert statistics.fmean(ttfts) == pytest.approx(600, rel=0.02)
    assert statistics.stdev(ttfts) == pytest.approx(120, rel=0.05)


def test_inter_token_statistics_of_a_stream() -> None:
    model = model_with(PROFILE)
    tokens = [0, 0, *([1] * 10_000), 0, 0]
    plan = model.plan(make_request(deployment="d"), 10_000, tokens)
    token_offsets = plan.offsets[2:-2]
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(token_offsets)]
    assert statistics.fmean(gaps) == pytest.approx(20, rel=0.02)
    assert statistics.stdev(gaps) == pytest.approx(6, rel=0.1)


def test_events_without_tokens_go_with_their_neighbours() -> None:
    plan = model_with({**PROFILE, "ttftStdMs": 0, "tokenStdMs": 0}).plan(
        make_request(deployment="d"), 3, [0, 0, 1, 1, 1, 0, 0]
    )
    assert list(plan.offsets) == pytest.approx([0.4, 0.4, 0.4, 0.42, 0.44, 0.44, 0.44])
    assert (plan.ttft, plan.total) == pytest.approx((0.4, 0.44))


def test_chunks_of_several_tokens_take_the_sum_of_their_intervals() -> None:
    model = model_with({**PROFILE, "ttftStdMs": 0, "tokenStdMs": 0})
    plan = model.plan(make_request(deployment="d"), 9, [3, 1, 5])
    assert list(plan.offsets) == pytest.approx([0.44, 0.46, 0.56])  # the first token is at TTFT


def test_non_streamed_total_matches_the_stream_it_would_have_been() -> None:
    model = model_with(PROFILE, seed=3)
    totals = [model.plan(make_request(deployment="d"), 101).total * 1000 for _ in range(20_000)]
    assert statistics.fmean(totals) == pytest.approx(400 + 100 * 20, rel=0.01)
    expected_std = math.sqrt(120**2 + 100 * 6**2)
    assert statistics.stdev(totals) == pytest.approx(expected_std, rel=0.05)


def test_embeddings_are_base_plus_per_input_token() -> None:
    model = model_with({"ttftMs": 50, "ttftStdMs": 0, "prefillMsPerToken": 0.5})
    request = make_request("text-embedding-3-small", deployment="d", operation=Operation.EMBEDDINGS, prompt_tokens=100)
    assert model.plan(request).total == pytest.approx(0.1)


def test_same_seed_same_plans() -> None:
    first = [model_with(PROFILE, seed=11).plan(make_request(deployment="d"), 5, [1] * 5) for _ in range(3)]
    second = [model_with(PROFILE, seed=11).plan(make_request(deployment="d"), 5, [1] * 5) for _ in range(3)]
    assert first == second


def test_disabled_latency_is_zero() -> None:
    plan = model_with(PROFILE, enabled=False).plan(make_request(deployment="d", prompt_tokens=10), 50, [1] * 4)
    assert plan == LatencyPlan.zero(4)
    assert plan.is_zero


def test_bursts_release_groups_when_enough_tokens_are_ready() -> None:
    tokens = [0, 1, 1, 1, 1, 1, 1, 0]  # one token every 0.1 s from 0.1 s: unbursted 0.1 0.1 0.2 … 0.6 0.6
    releases = Releases(0.1, tokens, lambda count: 0.1 * count, burst_tokens=3)
    assert list(releases) == pytest.approx([0.3, 0.3, 0.3, 0.3, 0.6, 0.6, 0.6, 0.6])


def test_releases_are_drawn_only_as_the_stream_reaches_them() -> None:
    drawn: list[int] = []

    def output(count: int) -> float:
        drawn.append(count)
        return 0.02 * count

    releases = Releases(0.4, [0, 1, 1, 1, 0], output)
    assert releases[1] == pytest.approx(0.4) and drawn == [0]
    assert releases[-1] == pytest.approx(0.44) and drawn == [0, 1, 1]
    assert releases[:3] == pytest.approx([0.4, 0.4, 0.42]) and len(releases) == 5


def test_burst_config_applies_to_plans() -> None:
    model = model_with({**PROFILE, "ttftStdMs": 0, "tokenStdMs": 0, "burstTokens": 2})
    plan = model.plan(make_request(deployment="d"), 3, [1, 1, 1])
    assert list(plan.offsets) == pytest.approx([0.42, 0.42, 0.44])


def test_translations_scale_with_audio_size() -> None:
    config = LatencyConfig.from_json({"translations": {"msPerMegabyte": 1000, "stdMs": 0}})
    assert LatencyModel(config, random.Random(0)).translation_seconds(2 * 1024 * 1024) == pytest.approx(2.0)


def _audio_request(operation: Operation, seconds: float, size: int) -> OpenAIRequest:
    request = make_request("whisper", operation=operation)
    request.files = {"file": (Upload("a.wav", "audio/wav", bytes(size), ""),)}
    request.audio_seconds = seconds
    return request


def test_audio_latency_is_per_audio_second_unless_the_predecessors_translation_model_is_configured() -> None:
    """whisper by default: 500 ms + 60 ms per second of audio; LATENCY_OPENAI_TRANSLATIONS (per megabyte) replaces
    that for translations when it is set, as the predecessor's users expect."""
    fixed = {"families": {"whisper": {"ttftStdMs": 0}}}
    model = LatencyModel(LatencyConfig.from_json(fixed), random.Random(0))
    for operation in (Operation.TRANSCRIPTIONS, Operation.TRANSLATIONS):
        assert model.plan(_audio_request(operation, 60.0, 1024 * 1024)).total == pytest.approx(0.5 + 3.6)
    legacy = LatencyConfig.from_settings(document=fixed, legacy=LegacyLatency(translations=MeanStd(2000, 0)))
    model = LatencyModel(legacy, random.Random(0))
    assert model.plan(_audio_request(Operation.TRANSLATIONS, 60.0, 1024 * 1024)).total == pytest.approx(2.0)
    assert model.plan(_audio_request(Operation.TRANSCRIPTIONS, 60.0, 1024 * 1024)).total == pytest.approx(4.1)


def test_speech_is_released_as_its_audio_is_made_and_images_cost_per_image() -> None:
    document = {
        "families": {
            "tts": {"ttftMs": 400, "ttftStdMs": 0, "msPerAudioSecond": 100},
            "dall-e-3": {"ttftMs": 1000, "ttftStdMs": 0, "msPerImage": 5000},
        }
    }
    model = LatencyModel(LatencyConfig.from_json(document), random.Random(0))
    # Four quarter-second chunks (250 ms of audio each): made at 25 ms each after the first byte's 400 ms.
    plan = model.plan(make_request("tts", operation=Operation.SPEECH), chunk_tokens=[250] * 4)
    assert list(plan.offsets) == pytest.approx([0.425, 0.45, 0.475, 0.5], abs=1e-3)
    images = make_request("dall-e-3", operation=Operation.IMAGE_GENERATIONS)
    images.images = 2
    assert model.plan(images).total == pytest.approx(11.0)


def test_plan_from_recorded_offsets() -> None:
    plan = LatencyPlan.from_offsets([0.5, 0.6, 0.9])
    assert (plan.ttft, plan.total) == (0.5, 0.9)


def test_reasoning_tokens_are_thought_before_the_first_token() -> None:
    exact = {**PROFILE, "ttftStdMs": 0, "tokenStdMs": 0, "prefillMsPerToken": 0}
    request = make_request("o4-mini", deployment="d")
    # 500 reasoning tokens at the visible rate (50/s: 10 s), then 3 visible tokens (2 intervals after the first).
    whole = model_with(exact).plan(request, 503, reasoning_tokens=500)
    assert (whole.ttft, whole.total) == pytest.approx((10.4, 10.44))
    stream = model_with({**exact, "reasoningTokensPerSecond": 250}).plan(
        request, chunk_tokens=[0, 1, 1, 1, 0], reasoning_tokens=500
    )
    assert list(stream.offsets) == pytest.approx([2.4, 2.4, 2.42, 2.44, 2.44])


def test_reasoning_rate_is_a_latency_field() -> None:
    with pytest.raises(SettingsError, match="reasoningTokensPerSecond must be positive"):
        LatencyConfig.from_json({"deployments": {"d": {"reasoningTokensPerSecond": 0}}})
    config = LatencyConfig.from_json({"families": {"o3": {"reasoningTokensPerSecond": 120}}})
    assert config.to_json()["families"] == {"o3": {"reasoningTokensPerSecond": 120}}
