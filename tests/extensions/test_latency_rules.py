"""Extensions' latency rules change what a `Pace` names (time to first token, tokens per second and their
deviations) and nothing else: prefill, bursts, reasoning and media work stay as configured. A rule once rebuilt
the profile from the Pace alone, so it silently dropped a reasoning model's thinking rate and the audio and
image work of media routes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.app import Simulator
from simulator.latency import LatencyModel
from simulator.models import Operation
from simulator.settings import Settings
from tests.extensions.support import KEY, write_extension
from tests.latency.helpers import make_request

RULE = """
from simulator import extend

def initialize(simulator):
    simulator.add_latency_rule(
        lambda query: extend.Pace(ttft_ms=100.0, tokens_per_second=10.0) if query.headers.get("x-rule") else None
    )
"""
EXACT = {"ttftMs": 300, "ttftStdMs": 0, "tokenStdMs": 0, "prefillMsPerToken": 0}
LATENCY = {
    "enabled": True,
    "deployments": {
        "thinker": {**EXACT, "tokensPerSecond": 50, "reasoningTokensPerSecond": 250, "prefillMsPerToken": 2},
        "chat": {**EXACT, "tokensPerSecond": 50, "burstTokens": 4},
        "transcribe": {**EXACT, "msPerAudioSecond": 100},
        "painter": {**EXACT, "msPerImage": 5000},
        "speaker": {**EXACT, "msPerAudioSecond": 100},
    },
}
RULED = {"x-rule": "1"}


@pytest.fixture
def latency(tmp_path: Path) -> LatencyModel:
    settings = Settings.from_env(
        {
            "SIMULATOR_API_KEY": KEY,
            "EXTENSION_PATH": str(write_extension(tmp_path, RULE)),
            "SIMULATOR_LATENCY_CONFIG": json.dumps(LATENCY),
        }
    )
    return Simulator.from_settings(settings).latency


def test_a_rule_keeps_a_reasoning_models_thinking_rate_and_prefill(latency: LatencyModel) -> None:
    def request(headers: dict[str, str]):
        return make_request("o4-mini", deployment="thinker", prompt_tokens=100, headers=headers)

    # 500 hidden tokens at 250/s (2 s) after the time to first token and 100 prompt tokens' prefill (0.2 s).
    plain = latency.plan(request({}), 503, reasoning_tokens=500)
    assert (plain.ttft, plain.total) == pytest.approx((0.3 + 0.2 + 2.0, 0.3 + 0.2 + 2.0 + 2 / 50))
    ruled = latency.plan(request(RULED), 503, reasoning_tokens=500)
    assert (ruled.ttft, ruled.total) == pytest.approx((0.1 + 0.2 + 2.0, 0.1 + 0.2 + 2.0 + 2 / 10))


def test_a_rule_keeps_bursts(latency: LatencyModel) -> None:
    plan = latency.plan(make_request(deployment="chat", headers=RULED), chunk_tokens=[1] * 8)
    # Released four tokens at a time (when the fourth is made), at the rule's 10 tokens/s after its 0.1 s.
    assert list(plan.offsets) == pytest.approx([0.4] * 4 + [0.8] * 4)


@pytest.mark.parametrize(
    ("deployment", "model", "operation", "work"),
    [
        ("transcribe", "gpt-4o-transcribe", Operation.TRANSCRIPTIONS, "audio_seconds"),
        ("painter", "gpt-image-1", Operation.IMAGE_GENERATIONS, "images"),
    ],
)
def test_a_rule_keeps_the_work_of_media_routes(
    latency: LatencyModel, deployment: str, model: str, operation: Operation, work: str
) -> None:
    request = make_request(model, deployment=deployment, operation=operation, headers=RULED)
    setattr(request, work, 2)  # two seconds of audio heard (0.2 s), or two images drawn (10 s)
    extra = 0.2 if work == "audio_seconds" else 10.0
    assert latency.plan(request).ttft == pytest.approx(0.1 + extra)


def test_speech_keeps_its_audio_rate_under_a_rule(latency: LatencyModel) -> None:
    """Speech is paced by the audio it makes (msPerAudioSecond), which no Pace names: a rule changes only when the
    first byte comes."""
    request = make_request("tts", deployment="speaker", operation=Operation.SPEECH, headers=RULED)
    plan = latency.plan(request, chunk_tokens=[250] * 4)  # a quarter of a second of audio each, made in 25 ms
    assert list(plan.offsets) == pytest.approx([0.125, 0.15, 0.175, 0.2], abs=1e-3)
