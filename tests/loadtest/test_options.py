from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from loadtest.api import Operation, build_request, chat_body
from loadtest.options import ApiStyle, LoadTestOptions

DOCS = Path(__file__).resolve().parents[2] / "docs" / "loadtest.md"


# Locust's own parser (which reads the env vars) is exercised by the smoke test: importing Locust here would
# monkey-patch the whole pytest process for gevent.


def test_options_convert_what_the_parser_or_the_master_sends() -> None:
    parsed = argparse.Namespace(api_style="v1", max_tokens="42", max_retry_wait=2, headless=True)
    options = LoadTestOptions.from_namespace(parsed)
    assert (options.api_style, options.max_tokens, options.max_retry_wait) == (ApiStyle.V1, 42, 2.0)
    assert options.chat_deployment == LoadTestOptions().chat_deployment
    assert LoadTestOptions.from_namespace(None) == LoadTestOptions()


def test_options_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="v2"):
        LoadTestOptions.from_namespace(argparse.Namespace(api_style="v2"))
    with pytest.raises(ValueError, match="LOADTEST_MAX_TOKENS"):
        LoadTestOptions.from_namespace(argparse.Namespace(max_tokens=0))


def test_classic_paths_carry_the_deployment_and_api_version() -> None:
    options = LoadTestOptions(api_key="k", api_version="2024-10-21")
    request = build_request(options, Operation.CHAT, "my gpt", chat_body("hi", 5, stream=False))
    assert request.path == "/openai/deployments/my%20gpt/chat/completions?api-version=2024-10-21"
    assert request.headers == {"api-key": "k"}
    assert "model" not in request.body


def test_v1_paths_carry_the_deployment_in_the_body() -> None:
    options = LoadTestOptions(api_style=ApiStyle.V1, api_version="")
    request = build_request(options, Operation.EMBEDDINGS, "embed", {"input": ["x"]})
    assert (request.path, request.body) == ("/openai/v1/embeddings", {"input": ["x"], "model": "embed"})


def test_streamed_chat_asks_for_usage() -> None:
    assert chat_body("hi", 5, stream=True)["stream_options"] == {"include_usage": True}


def test_docs_list_every_option() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for field in dataclasses.fields(LoadTestOptions):
        assert field.metadata["env"] in text
        assert "--" + field.name.replace("_", "-") in text
