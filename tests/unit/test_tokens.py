import os
import subprocess
import sys
from pathlib import Path

from simulator.tokens import TokenCounts, count_messages, count_text, count_tools, encoding

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}


def test_single_user_message_matches_the_service() -> None:
    # gpt-4o reports prompt_tokens=8 for [{"role": "user", "content": "hi"}].
    assert count_messages([{"role": "user", "content": "hi"}], "o200k_base") == 8


def test_message_overheads_follow_the_cookbook() -> None:
    enc = "cl100k_base"
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    ]
    expected = 3  # reply primer
    expected += 3 + count_text("system", enc) + count_text("You are a helpful assistant.", enc)
    expected += 3 + count_text("user", enc) + 1 + count_text("example_user", enc)
    expected += count_text("New synergies will help drive top-line growth.", enc)
    assert count_messages(messages, enc) == expected


def test_content_parts_count_like_strings() -> None:
    as_string = [{"role": "user", "content": "Describe this picture"}]
    as_parts = [{"role": "user", "content": [{"type": "text", "text": "Describe this picture"}]}]
    with_image = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe this picture"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
        }
    ]
    assert count_messages(as_parts, "o200k_base") == count_messages(as_string, "o200k_base")
    assert count_messages(with_image, "o200k_base") == count_messages(as_string, "o200k_base") + 85


def test_tool_calls_and_tool_messages_count() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    base = [{"role": "user", "content": "weather?"}]
    with_call = [*base, {"role": "assistant", "content": None, "tool_calls": [call]}]
    with_result = [*with_call, {"role": "tool", "tool_call_id": "call_1", "content": "22 degrees"}]
    a, b, c = (count_messages(m, "o200k_base") for m in (base, with_call, with_result))
    assert b > a + 3 + count_text('{"city":"Paris"}', "o200k_base")
    assert c > b + count_text("22 degrees", "o200k_base")


def test_tool_definitions_add_tokens() -> None:
    assert count_tools([WEATHER_TOOL], "o200k_base") > 20
    assert count_tools([WEATHER_TOOL], "cl100k_base") == count_tools([WEATHER_TOOL], "o200k_base") + 3
    assert count_tools([], "o200k_base") == 0


def test_kept_counts_match_the_tokenizer_and_stay_within_their_budget() -> None:
    enc = encoding("o200k_base")
    counts = TokenCounts(budget_characters=40)
    texts = ["You are a helpful assistant.", "<|endoftext|> is text here", "x" * 30]
    for text in texts * 2:
        assert counts.count(enc, text) == len(enc.encode(text, disallowed_special=()))
    assert counts._characters <= 40  # the third text did not fit with the others: it started again
    assert counts.count(encoding("cl100k_base"), texts[0]) == len(encoding("cl100k_base").encode(texts[0]))


def test_start_without_reachable_encodings_is_a_clear_error(tmp_path: Path) -> None:
    """A closed network and an empty cache: the local host refuses to start and says what to do, instead of
    answering 500 to every request."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATA_GYM_CACHE_DIR", "NO_PROXY", "no_proxy")}
    env.update(
        TIKTOKEN_CACHE_DIR=str(tmp_path / "empty-cache"),
        HTTPS_PROXY="http://127.0.0.1:9",  # nothing listens there: every download is refused at once
        SIMULATOR_API_KEY="test-key",
    )
    started = subprocess.run(
        [sys.executable, "-m", "simulator", "--port", "0", "--env-file", str(tmp_path / "none.env")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert started.returncode == 2
    assert "cannot start: the tiktoken encodings cl100k_base" in started.stderr
    assert "o200k_base" in started.stderr and "TIKTOKEN_CACHE_DIR" in started.stderr
    assert "Traceback" not in started.stderr
