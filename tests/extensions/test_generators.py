"""Generators from extensions: text or choices of their own, or changes to the simulator's, rendered as AOAI
renders answers (whole or streamed) with usage counted from the final text; a failing one gives a clean 500."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from simulator.tokens import count_text
from tests.extensions.support import CHAT, chat_body, serving, write_extension

WRAPPER = """
from simulator import extend

def louder(prompt: extend.Prompt, choices: list[extend.Choice]) -> None:
    for choice in choices:
        if choice.text is not None:
            choice.text = choice.text.upper() + " (checked)"

def initialize(simulator: extend.Simulator) -> None:
    simulator.wrap_generator(extend.Operation.CHAT_COMPLETIONS, louder)
"""

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


def sse_events(text: str) -> list[dict]:
    payloads = [block[len("data: ") :] for block in text.split("\n\n") if block.startswith("data: ")]
    return [json.loads(payload) for payload in payloads if payload != "[DONE]"]


async def test_a_wrapper_changes_the_text_and_usage_follows(tmp_path: Path) -> None:
    short = {"SIMULATOR_COMPLETION_TOKENS": "5"}  # room for the suffix within max_tokens
    async with serving(str(write_extension(tmp_path, WRAPPER)), short) as client:
        whole = (await client.post(CHAT, json=chat_body(max_tokens=30, n=2))).json()
        streamed = await client.post(
            CHAT, json=chat_body(max_tokens=30, stream=True, stream_options={"include_usage": True})
        )
    texts = [choice["message"]["content"] for choice in whole["choices"]]
    assert all(text.endswith(" (checked)") and text[:-10] == text[:-10].upper() for text in texts)
    assert whole["usage"]["completion_tokens"] == sum(count_text(text, "o200k_base") for text in texts)
    events = sse_events(streamed.text)
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert text.endswith(" (checked)") and text[:-10] == text[:-10].upper()
    assert events[-1]["usage"]["completion_tokens"] == count_text(text, "o200k_base")


async def test_text_past_the_cap_is_cut_there(tmp_path: Path) -> None:
    async with serving(str(write_extension(tmp_path, WRAPPER))) as client:
        answer = (await client.post(CHAT, json=chat_body(max_tokens=3))).json()
    assert answer["choices"][0]["finish_reason"] == "length" and answer["usage"]["completion_tokens"] == 3
    assert count_text(answer["choices"][0]["message"]["content"], "o200k_base") == 3


async def test_tool_calls_pass_through_a_text_wrapper(tmp_path: Path) -> None:
    async with serving(str(write_extension(tmp_path, WRAPPER))) as client:
        answer = (await client.post(CHAT, json=chat_body(tools=TOOLS, tool_choice="required"))).json()
    message = answer["choices"][0]["message"]
    assert message["content"] is None and message["tool_calls"][0]["function"]["name"] == "lookup"


async def test_a_generator_gives_choices_of_its_own(tmp_path: Path) -> None:
    source = """
    from simulator import extend

    def answer(prompt):
        if prompt.last_user_text == "pass":
            return None
        return [extend.Choice("first"), extend.Choice("second", finish_reason="content_filter")]

    def initialize(simulator):
        simulator.add_generator(extend.Operation.CHAT_COMPLETIONS, answer)
    """
    async with serving(str(write_extension(tmp_path, source))) as client:
        mine = (await client.post(CHAT, json=chat_body())).json()
        passed = (await client.post(CHAT, json=chat_body("pass", max_tokens=5))).json()
    assert [c["message"]["content"] for c in mine["choices"]] == ["first", "second"]
    assert [c["finish_reason"] for c in mine["choices"]] == ["stop", "content_filter"]
    assert mine["usage"]["completion_tokens"] == 2
    assert passed["usage"]["completion_tokens"] == 5  # the simulator's own answer


async def test_a_generator_that_raises_gives_a_clean_500_naming_it(tmp_path: Path, caplog) -> None:
    source = """
    from simulator import extend

    def initialize(simulator):
        simulator.add_generator(extend.Operation.CHAT_COMPLETIONS, lambda prompt: prompt.nothing_here)
    """
    path = write_extension(tmp_path, source)
    with caplog.at_level(logging.ERROR, logger="simulator.extensions"):
        async with serving(str(path)) as client:
            answer = await client.post(CHAT, json=chat_body())
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "InternalServerError"
    assert f"extension {path} raised in a chat generator" in caplog.text and "AttributeError" in caplog.text


async def test_a_route_that_raises_or_returns_nonsense_gives_a_clean_500(tmp_path: Path, caplog) -> None:
    source = """
    from simulator import extend

    async def broken(request):
        raise ValueError("bad day")

    async def nonsense(request):
        return {"not": "a response"}

    def initialize(simulator):
        simulator.add_route("/broken", broken)
        simulator.add_route("/nonsense", nonsense, name="nonsense", auth=False)
    """
    path = write_extension(tmp_path, source)
    with caplog.at_level(logging.ERROR, logger="simulator.extensions"):
        async with serving(str(path)) as client:
            broken = await client.get("/broken")
            nonsense = await client.get("/nonsense", headers={"api-key": ""})
            unauthorised = await client.get("/broken", headers={"api-key": "wrong"})
    assert broken.status_code == nonsense.status_code == 500
    assert broken.json()["error"]["code"] == "InternalServerError"
    assert f"extension {path} raised in route broken" in caplog.text
    assert "returned dict, not simulator.extend.Response" in caplog.text
    assert unauthorised.status_code == 401


async def test_a_reasoning_models_thought_survives_a_wrapper_and_logprobs_follow_the_text(tmp_path: Path) -> None:
    env = {"SIMULATOR_DEFAULT_CHAT_MODEL": "o3-mini", "SIMULATOR_COMPLETION_TOKENS": "5"}
    async with serving(str(write_extension(tmp_path, WRAPPER)), env) as client:
        thought = (await client.post(CHAT, json=chat_body(max_completion_tokens=4000, reasoning_effort="low"))).json()
    usage = thought["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    text = thought["choices"][0]["message"]["content"]
    assert reasoning > 0 and text.endswith(" (checked)")
    assert usage["completion_tokens"] == reasoning + count_text(text, "o200k_base")

    async with serving(str(write_extension(tmp_path, WRAPPER)), {"SIMULATOR_COMPLETION_TOKENS": "5"}) as client:
        answer = (await client.post(CHAT, json=chat_body(max_tokens=40, logprobs=True, top_logprobs=2))).json()
    choice = answer["choices"][0]
    assert "".join(entry["token"] for entry in choice["logprobs"]["content"]) == choice["message"]["content"]


async def test_completions_take_generators_too_with_echo_and_streams(tmp_path: Path) -> None:
    source = """
    from simulator import extend

    def initialize(simulator):
        simulator.add_generator(extend.Operation.COMPLETIONS, lambda prompt: "Once upon a time")
        simulator.wrap_generator(
            extend.Operation.COMPLETIONS, lambda prompt, choices: [extend.Choice(c.text + ".") for c in choices]
        )
    """
    deployments = tmp_path / "deployments.json"
    deployments.write_text(json.dumps({"instruct": {"model": "gpt-35-turbo-instruct"}}))
    path = "/openai/deployments/instruct/completions?api-version=2024-10-21"
    async with serving(
        str(write_extension(tmp_path, source)), {"OPENAI_DEPLOYMENT_CONFIG_PATH": str(deployments)}
    ) as c:
        whole = (await c.post(path, json={"prompt": ["Tell me", "Go on"], "n": 2, "echo": True})).json()
        streamed = await c.post(path, json={"prompt": "x", "stream": True, "max_tokens": 2})
    texts = [choice["text"] for choice in whole["choices"]]
    assert texts == ["Tell meOnce upon a time."] * 2 + ["Go onOnce upon a time."] * 2
    assert whole["usage"]["completion_tokens"] == 4 * count_text("Once upon a time.", "cl100k_base")
    events = sse_events(streamed.text)
    assert "".join(e["choices"][0]["text"] for e in events if e["choices"]) == "Once upon"
    assert [e["choices"][0]["finish_reason"] for e in events if e["choices"]][-1] == "length"
