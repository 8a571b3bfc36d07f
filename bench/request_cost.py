"""What one request can cost the server: the most expensive request of each shape the routes allow, sent straight
to the ASGI app, in CPU seconds and as a ratio to a plain chat request measured in the same run.

    python -m bench.request_cost [--repeat 3] [--shape chat-logprobs ...] [--max-generated-tokens N]

A shared endpoint must bound the work one request causes (docs/security.md, Resource limits): this is the
check that it does. Each shape asks for everything its route accepts (128 choices, the most logprobs, the
largest sizes, the longest inputs) within the request limits, so a shape far above the worst plain-token
request (`chat-schema`: 128 choices of a schema the generation budget cuts) is one a client can use to load
the server. Latency is off, so a figure is the CPU of making and sending the answer, encoders' worker
threads included. Bodies vary per request (`{n}`) so that caches keyed by the request miss; "first s" is the
first request of a shape, when the caches keyed by its size are cold too (a picture design per size and format).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.inprocess import call
from bench.scenarios import Scenario

DEPLOYMENTS: dict[str, dict[str, Any]] = {
    "cost-chat": {"model": "gpt-4o"},
    "cost-long": {"model": "gpt-4.1"},  # 32,768 output tokens: the longest answer of a non-reasoning model
    "cost-instruct": {"model": "gpt-35-turbo-instruct"},
    "cost-embed": {"model": "text-embedding-3-large"},  # 3,072 dimensions
    "cost-dalle": {"model": "dall-e-3"},
    "cost-painter": {"model": "gpt-image-1"},
    "cost-tts": {"model": "tts"},
    "cost-whisper": {"model": "whisper"},
}
BASELINE = "chat"
CHOICES = 128
UPLOAD_BYTES = 25 * 1024 * 1024  # AOAI's audio file limit
BODY_BYTES = 4 * 1024 * 1024  # SIMULATOR_MAX_BODY_BYTES's default


def _rows(items: int) -> dict[str, Any]:
    """A schema of `items` strings (about 5.5 tokens each), so its JSON is as long as asked."""
    rows = {"type": "array", "minItems": items, "items": {"type": "string"}}
    return {"type": "object", "properties": {"rows": rows}, "required": ["rows"], "additionalProperties": False}


def _format(items: int) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "rows", "strict": True, "schema": _rows(items)}}


def _tool(items: int) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "save", "parameters": _rows(items), "strict": True}}


# Just past a choice's share of the budget (2,048 tokens of 128 choices): the worst plain-token request.
SHARE_ROWS = 400
# Far past it: the schema generator makes the whole instance before the answer is cut.
HUGE_ROWS = 20_000
# Past gpt-4.1's 32,768 output tokens, for the one answer of a Responses turn.
LONG_ROWS = 8_000


def _chat_body(**fields: Any) -> dict[str, Any]:
    return {"messages": scenarios.CHAT_MESSAGES, **fields}


def _chat(**fields: Any) -> str:
    return json.dumps(_chat_body(**fields))


def _whole_and_streamed(
    name: str, title: str, operation: str, body: dict[str, Any], deployment: str = "cost-chat", *, v1: bool = False
) -> tuple[Scenario, Scenario]:
    """A shape answered whole, and streamed (`name-stream`)."""
    whole = Scenario(name, title, deployment, operation, json.dumps(body), v1=v1)
    streamed = json.dumps({**body, "stream": True})
    return whole, Scenario(f"{name}-stream", f"{title}, streamed", deployment, operation, streamed, stream=True, v1=v1)


def _completion_prompt() -> str:
    """The longest prompt gpt-35-turbo-instruct takes (4,097 tokens of context, a few left to answer in): each
    ` word` is one token."""
    return "Request {n}:" + " word" * 4_000


def _embedding_inputs() -> list[str]:
    """2,048 inputs, as long as the body limit lets them be (2,048 of 8,191 tokens would be a 33 MB body,
    refused with 413): about 1,000 one-token words each."""
    each = (BODY_BYTES - 4_096) // 2_048 - 16
    return [f"{index} {{n}}" + " a" * ((each - 12) // 2) for index in range(2_048)]


def _upload() -> bytes:
    """A 25 MB WAV at 8 kHz, 8 bits: the longest audio (about 55 minutes) the upload limit admits."""
    seconds = (UPLOAD_BYTES - 4_096) / 8_000
    audio = scenarios.silent_wav(seconds, rate=8_000, sample_bytes=1)
    fields = [("response_format", "verbose_json"), *(("timestamp_granularities[]", g) for g in ("word", "segment"))]
    return scenarios.multipart(fields, "file", "long.wav", audio, "audio/wav")


def shapes() -> tuple[Scenario, ...]:
    chat_logprobs = {"n": CHOICES, "logprobs": True, "top_logprobs": 20}
    completion = {"prompt": _completion_prompt(), "n": CHOICES, "logprobs": 5, "echo": True}
    responses: dict[str, Any] = {
        "model": "cost-long",
        "input": scenarios.CHAT_MESSAGES[1]["content"],
        "text": {"format": {"type": "json_schema", "name": "rows", "strict": True, "schema": _rows(LONG_ROWS)}},
        "top_logprobs": 20,
        "include": ["message.output_text.logprobs"],
        "store": False,
    }
    # 4,096 characters at the slowest speed: 18 minutes of audio. The speed's digits vary per request (0.250,
    # 0.251, ...), so each length is a new one for the encoder's cache.
    speech = json.dumps({"input": "word " * 819 + "w", "voice": "alloy", "speed": 0.25}).replace("0.25", "0.25{n}")
    picture = {"prompt": "A lighthouse at dusk, request {n}"}
    return (
        Scenario(BASELINE, "chat, n 1, default length (the baseline)", "cost-chat", "chat/completions", _chat()),
        Scenario("chat-n128", "chat, n 128", "cost-chat", "chat/completions", _chat(n=CHOICES)),
        Scenario(
            "chat-schema",
            "chat, n 128, json_schema just past the budget (worst plain tokens)",
            "cost-chat",
            "chat/completions",
            _chat(n=CHOICES, response_format=_format(SHARE_ROWS)),
        ),
        Scenario(
            "chat-schema-huge",
            f"chat, n 128, json_schema of {HUGE_ROWS:,} strings",
            "cost-chat",
            "chat/completions",
            _chat(n=CHOICES, response_format=_format(HUGE_ROWS)),
        ),
        Scenario(
            "chat-tools-huge",
            f"chat, n 128, a required tool call whose arguments are {HUGE_ROWS:,} strings",
            "cost-chat",
            "chat/completions",
            _chat(n=CHOICES, tools=[_tool(HUGE_ROWS)], tool_choice="required"),
        ),
        *_whole_and_streamed(
            "chat-logprobs", "chat, n 128, top_logprobs 20", "chat/completions", _chat_body(**chat_logprobs)
        ),
        *_whole_and_streamed(
            "chat-schema-logprobs",
            "chat, n 128, json_schema, top_logprobs 20",
            "chat/completions",
            _chat_body(**chat_logprobs, response_format=_format(SHARE_ROWS)),
        ),
        *_whole_and_streamed(
            "completions-logprobs",
            "completions, n 128, logprobs 5, echo of 4,000 tokens",
            "completions",
            completion,
            "cost-instruct",
        ),
        Scenario(
            "embeddings",
            "embeddings, 2,048 inputs of ~1,000 tokens, 3,072 dims, float",
            "cost-embed",
            "embeddings",
            json.dumps({"input": _embedding_inputs()}),
        ),
        *_whole_and_streamed(
            "responses-logprobs",
            "responses, gpt-4.1, json_schema, top_logprobs 20",
            "responses",
            responses,
            "cost-long",
            v1=True,
        ),
        Scenario(
            "image-dalle",
            "images, dall-e-3, 1792x1024 hd, b64_json",
            "cost-dalle",
            "images/generations",
            json.dumps({**picture, "size": "1792x1024", "quality": "hd", "response_format": "b64_json"}),
        ),
        Scenario(
            "image-gpt",
            "images, gpt-image-1, n 10, 1536x1024 high png",
            "cost-painter",
            "images/generations",
            json.dumps({**picture, "n": 10, "size": "1536x1024", "quality": "high"}),
        ),
        Scenario(
            "speech",
            "speech, 4,096 characters at speed 0.25, mp3",
            "cost-tts",
            "audio/speech",
            speech,
        ),
        Scenario(
            "transcription",
            "transcription, 25 MB WAV (55 min), verbose_json, words and segments",
            "cost-whisper",
            "audio/transcriptions",
            _upload(),
        ),
    )


def _bodies(scenario: Scenario, count: int) -> list[bytes]:
    if isinstance(scenario.body, bytes):
        return [scenario.body] * count
    return [scenario.body.replace("{n}", str(n)).encode() for n in range(count)]


async def cost(app: Any, scenario: Scenario, repeat: int) -> tuple[float, float, int]:
    """The CPU seconds of the first request (caches cold: tiktoken's, the media encoders') and the median of
    `repeat` more, and the bytes of an answer."""
    seconds = []
    size = 0
    for body in _bodies(scenario, repeat + 1):
        started = time.process_time()
        status, size = await call(app, scenario.path, body, headers=scenario.headers)
        if status != 200:
            raise SystemExit(f"{scenario.name}: status {status}")
        seconds.append(time.process_time() - started)
    return seconds[0], statistics.median(seconds[1:]), size


async def run(args: argparse.Namespace, deployments: Path) -> list[tuple[Scenario, float, float, int]]:
    os.environ.update(
        SIMULATOR_API_KEY=scenarios.API_KEY,
        OPENAI_DEPLOYMENT_CONFIG_PATH=str(deployments),
        SIMULATOR_SEED="1",
        SIMULATOR_LATENCY_ENABLED="false",
        SIMULATOR_MAX_BODY_BYTES=str(BODY_BYTES),
        LOG_LEVEL="WARNING",
    )
    if args.max_generated_tokens:
        os.environ["SIMULATOR_MAX_GENERATED_TOKENS"] = str(args.max_generated_tokens)
    from simulator.app import Simulator
    from simulator.server import create_app
    from simulator.settings import Settings

    simulator = Simulator.from_settings(Settings.from_env())
    app = create_app(simulator)
    chosen = [s for s in shapes() if s.name == BASELINE or not args.shape or s.name in args.shape]
    await simulator.start()
    try:
        figures = []
        for scenario in chosen:
            repeat = args.baseline_repeat if scenario.name == BASELINE else args.repeat
            figures.append((scenario, *await cost(app, scenario, repeat)))
        return figures
    finally:
        await simulator.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.request_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", action="append", choices=[s.name for s in shapes()])
    parser.add_argument("--repeat", type=int, default=3, help="timed requests per shape (the median is shown)")
    parser.add_argument("--baseline-repeat", type=int, default=200)
    parser.add_argument("--max-generated-tokens", type=int, default=0, help="SIMULATOR_MAX_GENERATED_TOKENS")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aoai-request-cost-") as scratch:
        deployments = Path(scratch) / "deployments.json"
        deployments.write_text(json.dumps(DEPLOYMENTS))
        figures = asyncio.run(run(args, deployments))
    baseline = figures[0][2]
    print(f"{'shape':28} {'CPU s':>8} {'× chat':>9} {'first s':>8} {'answer MB':>10}  request")
    for scenario, first, seconds, size in figures:
        row = f"{seconds:8.3f} {seconds / baseline:9.0f} {first:8.3f} {size / 1e6:10.1f}"
        print(f"{scenario.name:28} {row}  {scenario.title}")


if __name__ == "__main__":
    main()
