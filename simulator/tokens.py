"""Token counting with tiktoken, as the OpenAI cookbook counts chat prompts.

tiktoken downloads encodings on first use unless `TIKTOKEN_CACHE_DIR` holds them; the simulator points it
at the copies a package ships (README, "Offline tokenizers"), and loads every encoding at start-up, so that
a closed network is a clear start-up error rather than a 500 for every request.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tiktoken

# Cookbook overheads (num_tokens_from_messages / num_tokens_for_tools).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMER = 3
IMAGE_TOKENS_LOW_DETAIL = 85
_TOOL_OVERHEADS = {
    # encoding: (func_init, prop_init, prop_key, enum_init, enum_item, func_end)
    "o200k_base": (7, 3, 3, -3, 3, 12),
    "cl100k_base": (10, 3, 3, -3, 3, 12),
}

BUNDLED_CACHE = Path(__file__).parent / "tiktoken_cache"
# The encodings the model catalogue uses, at the URLs tiktoken_ext.openai_public loads them from.
ENCODING_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


class EncodingsUnavailableError(RuntimeError):
    """An encoding is neither in tiktoken's cache nor downloadable: the simulator cannot count tokens."""


def cache_key(url: str) -> str:
    """File name tiktoken gives a cached download (tiktoken.load.read_file_cached)."""
    return hashlib.sha1(url.encode()).hexdigest()


def use_bundled_cache() -> None:
    """Point tiktoken at the encodings shipped with the package unless the user chose a cache already."""
    chosen = "TIKTOKEN_CACHE_DIR" in os.environ or "DATA_GYM_CACHE_DIR" in os.environ
    if not chosen and any(BUNDLED_CACHE.glob("[0-9a-f]" * 8 + "*")):
        os.environ["TIKTOKEN_CACHE_DIR"] = str(BUNDLED_CACHE)


def load_encodings() -> None:
    """Load every encoding before serving, from tiktoken's cache or downloaded into it as tiktoken would on
    first use. An encoding that cannot be had is then a start-up error, and no request pays for a load: loaded
    on first use, o200k_base stalled its model family's first request by 0.24 s, cl100k_base by 0.11 s."""
    missing = {}
    for name in ENCODING_URLS:
        try:
            encoding(name)
        except Exception as error:  # requests' ConnectionError, OSError, a proxy's HTTPError: all mean "not here"
            missing[name] = type(error).__name__
    if missing:
        cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR") or "tiktoken's default"
        names = ", ".join(f"{name} ({reason})" for name, reason in missing.items())
        raise EncodingsUnavailableError(
            f"the tiktoken encodings {names} are not in the cache ({cache}) and could not be downloaded. Set "
            "TIKTOKEN_CACHE_DIR to a folder holding them, or run `python scripts/package.py --seed-only` where "
            "they can be fetched (README: Offline tokenizers)"
        )


@functools.cache
def encoding(name: str) -> tiktoken.Encoding:
    enc = tiktoken.get_encoding(name)
    # tiktoken keeps a Python copy of the merge table (36 MiB for o200k_base) only to pickle unregistered
    # encodings; registered ones pickle by name, and encoding runs on the Rust copy. Free it.
    if hasattr(enc, "_mergeable_ranks"):
        enc._mergeable_ranks = {}
    return_freed_memory()
    return enc


def return_freed_memory() -> None:
    """Loading an encoding (or the app) leaves megabytes of garbage behind; glibc keeps such freed memory
    resident unless asked to give it back (about 7 MiB per encoding here). Elsewhere this does nothing."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def count_text(text: str, encoding_name: str) -> int:
    return _len(encoding(encoding_name), text)


def count_messages(messages: Sequence[Mapping[str, Any]], encoding_name: str) -> int:
    """Prompt tokens of a chat request's messages, reply primer included."""
    enc = encoding(encoding_name)
    total = REPLY_PRIMER
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if key == "name":
                total += TOKENS_PER_NAME
            total += _count_value(enc, value)
    return total


def count_tools(tools: Iterable[Mapping[str, Any]], encoding_name: str) -> int:
    """Tokens that tool (function) definitions add to a prompt."""
    func_init, prop_init, prop_key, enum_init, enum_item, func_end = _TOOL_OVERHEADS.get(
        encoding_name, _TOOL_OVERHEADS["o200k_base"]
    )
    enc = encoding(encoding_name)
    total = 0
    for tool in tools:
        function = tool.get("function") or {}
        total += func_init
        description = str(function.get("description") or "").removesuffix(".")
        total += _len(enc, f"{function.get('name', '')}:{description}")
        properties = (function.get("parameters") or {}).get("properties") or {}
        if properties:
            total += prop_init
            for name, schema in properties.items():
                schema = schema if isinstance(schema, Mapping) else {}
                total += prop_key
                if "enum" in schema:
                    total += enum_init
                    for item in schema["enum"]:
                        total += enum_item + _len(enc, str(item))
                described = str(schema.get("description") or "").removesuffix(".")
                total += _len(enc, f"{name}:{schema.get('type', '')}:{described}")
    return total + func_end if total else 0


def _count_value(enc: tiktoken.Encoding, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return _len(enc, value)
    if isinstance(value, list):
        return sum(_count_part(enc, part) for part in value)
    if isinstance(value, Mapping):
        return sum(_count_value(enc, item) for item in value.values())
    return _len(enc, str(value))


def _count_part(enc: tiktoken.Encoding, part: Any) -> int:
    """One element of a content list (text or image part) or of `tool_calls`."""
    if isinstance(part, Mapping):
        kind = part.get("type")
        if kind == "text":
            return _len(enc, str(part.get("text", "")))
        if kind in ("image_url", "input_image"):
            return IMAGE_TOKENS_LOW_DETAIL
        if kind == "function" or "function" in part:
            function = part.get("function") or {}
            return _len(enc, str(function.get("name", ""))) + _len(enc, str(function.get("arguments", "")))
    return _count_value(enc, part)


class TokenCounts:
    """Token counts of texts already seen, per encoding. A load test sends the same system prompt, tool
    definitions and often the same user prompt thousands of times: a dict lookup costs a hash of the text,
    tokenizing it a pass of the BPE. Bounded by the characters it holds (about twice that in bytes); when
    full it starts again rather than tracking recency on every lookup."""

    def __init__(self, budget_characters: int) -> None:
        self.budget = budget_characters
        self._by_encoding: dict[str, dict[str, int]] = {}
        self._characters = 0

    def count(self, enc: tiktoken.Encoding, text: str) -> int:
        counts = self._by_encoding.get(enc.name)
        if counts is None:
            counts = self._by_encoding[enc.name] = {}
        count = counts.get(text)
        if count is None:
            count = len(enc.encode_ordinary(text))  # special-token text counts as ordinary text
            if self._characters + len(text) > self.budget:
                self._by_encoding.clear()
                counts = self._by_encoding[enc.name] = {}
                self._characters = 0
            counts[text] = count
            self._characters += len(text)
        return count


COUNTS = TokenCounts(250_000)


def _len(enc: tiktoken.Encoding, text: str) -> int:
    return COUNTS.count(enc, text)
