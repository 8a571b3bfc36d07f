"""Calling extension code: an exception it raises becomes AOAI's 500 and one log line naming the extension.

`ApiError` (an `OpenAIError`) passes through: it is how an extension answers with an error on purpose.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from simulator import errors
from simulator.errors import OpenAIError

logger = logging.getLogger("simulator.extensions")
T = TypeVar("T")


def failed(extension: str, what: str) -> OpenAIError:
    """Log the exception being handled, naming the extension and what it was doing; the error to answer."""
    logger.exception("extension %s raised in %s", extension, what)
    return errors.internal_error()


def call(extension: str, what: str, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, for synchronous extension code (generators, latency rules, event hooks)."""
    try:
        return function(*args)
    except OpenAIError:
        raise
    except Exception:
        raise failed(extension, what) from None


async def call_async(extension: str, what: str, function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)`, awaited when it returns an awaitable (hooks and handlers may be either)."""
    try:
        result = function(*args)
        if result is not None and inspect.isawaitable(result):
            result = await result
        return result
    except OpenAIError:
        raise
    except Exception:
        raise failed(extension, what) from None
