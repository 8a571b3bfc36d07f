"""The generation budget (SIMULATOR_MAX_GENERATED_TOKENS) with logprobs: each token asked for with logprobs costs
its alternatives too, so 128 choices of 20 `top_logprobs` share what plain choices would. Never a refusal: the
choices are cut at their share (finish_reason "length"), usage counts what was sent."""

from __future__ import annotations

import random
from typing import Any

import pytest

from simulator.deployments import Deployment
from simulator.generators.base import GenerationSettings, budget_cap, token_cost
from simulator.generators.chat import ChatGenerator
from simulator.generators.completions import CompletionGenerator
from simulator.models import Operation, find_model
from simulator.replies import StreamReply
from tests.generators.test_reasoning_and_logprobs import payloads, request
from tests.support import spec

WANTED = (50, 60)  # longer than any share below: every choice is cut
needs_spec = pytest.mark.skipif(not spec.available(), reason="AOAI specs not present")


def chat(body: dict[str, Any], budget: int) -> Any:
    generator = ChatGenerator(GenerationSettings(WANTED, max_generated_tokens=budget))
    parsed = request(Deployment("d", find_model("gpt-4o")), body, Operation.CHAT_COMPLETIONS)
    return generator.generate(parsed, generator.parse(parsed), random.Random(3))


def completion(body: dict[str, Any], budget: int) -> Any:
    generator = CompletionGenerator(GenerationSettings(WANTED, max_generated_tokens=budget))
    parsed = request(Deployment("d", find_model("gpt-35-turbo-instruct")), body, Operation.COMPLETIONS)
    return generator.generate(parsed, generator.parse(parsed), random.Random(3))


def test_a_token_costs_one_plus_its_logprob_entries() -> None:
    assert [token_cost(None), token_cost(0), token_cost(1), token_cost(5), token_cost(20)] == [1, 2, 2, 6, 21]


def test_the_cap_is_lowered_only_past_the_share() -> None:
    model = find_model("gpt-4o")
    # 240 shared by 2 choices of 6 units a token: 20 tokens each.
    assert budget_cap(20, model, 2, 240, logprobs=5) == 20
    assert budget_cap(21, model, 2, 240, logprobs=5) == 20
    assert budget_cap(None, model, 2, 239, logprobs=5) == 19
    assert budget_cap(None, model, 2, 240, logprobs=5, spent=12) == 19
    assert budget_cap(None, model, 2, 240) == 120  # without logprobs, as before
    assert budget_cap(None, model, 128, 10, logprobs=20) == 1  # never below one token


@needs_spec
@pytest.mark.parametrize(("budget", "share"), [(240, 20), (239, 19)])
def test_chat_logprobs_are_cut_at_their_share_with_exact_usage(budget: int, share: int) -> None:
    reply = chat({"messages": [{"role": "user", "content": "hi"}], "n": 2, "logprobs": True, "top_logprobs": 5}, budget)
    spec.validate(reply.body, "createChatCompletionResponse")
    for choice in reply.body["choices"]:
        entries = choice["logprobs"]["content"]
        assert choice["finish_reason"] == "length" and len(entries) == share
        assert all(len(entry["top_logprobs"]) == 5 for entry in entries)
        assert "".join(entry["token"] for entry in entries) == choice["message"]["content"]
    assert reply.body["usage"]["completion_tokens"] == 2 * share


@needs_spec
def test_streamed_chat_logprobs_are_cut_at_their_share() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "n": 2, "logprobs": True, "top_logprobs": 5}
    reply = chat({**body, "stream": True, "stream_options": {"include_usage": True}}, 240)
    assert isinstance(reply, StreamReply)
    entries = {0: 0, 1: 0}
    finishes = {}
    events = payloads(reply)[1:]
    for payload in events[:-1]:
        spec.validate(payload, "createChatCompletionStreamResponse")
        choice = payload["choices"][0]
        entries[choice["index"]] += len((choice["logprobs"] or {}).get("content") or [])
        if choice["finish_reason"]:
            finishes[choice["index"]] = choice["finish_reason"]
    assert entries == {0: 20, 1: 20} and finishes == {0: "length", 1: "length"}
    assert events[-1]["usage"]["completion_tokens"] == 40


def test_chat_without_logprobs_keeps_its_share() -> None:
    reply = chat({"messages": [{"role": "user", "content": "hi"}], "n": 2}, 240)
    assert {choice["finish_reason"] for choice in reply.body["choices"]} == {"stop"}  # 50-60 tokens < 120


@needs_spec
@pytest.mark.parametrize(("budget", "share"), [(240, 40), (239, 39)])
def test_completion_logprobs_are_cut_at_their_share(budget: int, share: int) -> None:
    reply = completion({"prompt": "Say it twice", "n": 2, "logprobs": 2}, budget)  # 3 units a token
    spec.validate(reply.body, "createCompletionResponse")
    for choice in reply.body["choices"]:
        assert choice["finish_reason"] == "length" and len(choice["logprobs"]["tokens"]) == share
    assert reply.body["usage"]["completion_tokens"] == 2 * share


def test_an_echoed_prompts_logprobs_are_spent_first_and_shared_by_the_choices() -> None:
    # "Say it twice" is 3 tokens: 2 entries each (the first is null but its position is echoed): 6 spent.
    reply = completion({"prompt": "Say it twice", "n": 2, "logprobs": 2, "echo": True}, 246)
    first, second = (choice["logprobs"] for choice in reply.body["choices"])
    assert len(first["tokens"]) == len(second["tokens"]) == 3 + 40
    assert first["token_logprobs"][:3] == second["token_logprobs"][:3] and first["token_logprobs"][0] is None
    assert first["top_logprobs"][1:3] == second["top_logprobs"][1:3]
    assert first["token_logprobs"][3:] != second["token_logprobs"][3:]  # the answers are sampled apart
    assert reply.body["usage"] == {"completion_tokens": 80, "prompt_tokens": 3, "total_tokens": 83}
    cut = completion({"prompt": "Say it twice", "n": 2, "logprobs": 2, "echo": True}, 245)
    assert len(cut.body["choices"][0]["logprobs"]["tokens"]) == 3 + 39
