"""The public API for extensions: the one module an extension imports (docs/extending.md).

An extension is a Python file or package folder named in `EXTENSION_PATH` whose `initialize(simulator)` is
called once per instance, at start-up, with a `Simulator` from this module. Through it the extension adds
routes for other APIs, adds or wraps answer generators, hooks requests and answers, adds latency rules,
limiters and record-mode forwarders. Everything here is typed so an editor can follow it; everything else
in the `simulator` package is internal and may move.

Exceptions raised by extension code while answering become a clean AOAI-shaped 500 (and a log line naming
the extension); raise `ApiError` to answer with an error of your own choosing instead.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode

from simulator.errors import OpenAIError as ApiError
from simulator.models import Operation

if TYPE_CHECKING:
    from simulator.extensions.registry import ExtensionRegistry

__all__ = [
    "ApiError",
    "Choice",
    "Event",
    "EventHook",
    "Forwarder",
    "Generate",
    "LatencyQuery",
    "LatencyRule",
    "Limiter",
    "Operation",
    "Pace",
    "Prompt",
    "Request",
    "RequestHook",
    "Response",
    "ResponseHook",
    "RouteHandler",
    "Simulator",
    "WrapGenerator",
    "json_response",
]


# --- HTTP: what routes and hooks see ---------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Request:
    """An HTTP request. Request hooks may change `headers`, `query` and `body`; the simulator then answers the
    changed request (the path stays: the route is already chosen)."""

    method: str
    path: str
    query: str  # as sent, without the `?`
    headers: dict[str, str]  # names in lower case
    body: bytes
    path_params: dict[str, str] = dataclasses.field(default_factory=dict)
    scheme: str = "http"
    # Free for extensions: what a request hook notes here, the response hook of the same request reads.
    state: dict[str, Any] = dataclasses.field(default_factory=dict)

    def json(self) -> Any:
        """The body decoded as JSON; `ApiError` 400 when it is not JSON."""
        return _decode_json(self.body)

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def query_param(self, name: str) -> str | None:
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            if key == name:
                return value
        return None

    def set_query_param(self, name: str, value: str | None) -> None:
        """Set (None: remove) one query parameter, keeping the others as they are."""
        pairs = [(key, item) for key, item in parse_qsl(self.query, keep_blank_values=True) if key != name]
        if value is not None:
            pairs.append((name, value))
        self.query = urlencode(pairs)

    @property
    def base_url(self) -> str:
        """`scheme://host` as the client called the simulator: for URLs it should call next (a poll)."""
        scheme = self.headers.get("x-forwarded-proto", self.scheme)
        return f"{scheme}://{self.headers.get('x-forwarded-host') or self.headers.get('host', 'localhost')}"

    @property
    def deployment(self) -> str | None:
        """The AOAI deployment named by the path (classic) or the body's `model` (v1), if any."""
        if "deployment" in self.path_params:
            return self.path_params["deployment"]
        if self.path.startswith("/openai/v1/") and self.body[:1] == b"{":
            try:
                model = json.loads(self.body).get("model")
            except ValueError:
                return None
            return model if isinstance(model, str) else None
        return None


@dataclasses.dataclass(slots=True)
class Response:
    """An answer: `body` bytes, or `stream` (an async iterable of bytes, e.g. server-sent events).

    For a streamed answer that response hooks see, `stream` is None and `streamed` is True: its events go
    through `Simulator.on_stream_event` hooks one by one as they are sent."""

    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)  # names in lower case
    body: bytes = b""
    stream: AsyncIterable[bytes] | None = None
    streamed: bool = False

    def json(self) -> Any:
        """The body decoded as JSON (ValueError when it is not: check `content-type` first)."""
        return json.loads(self.body)

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        self.headers["content-type"] = "application/json"


def json_response(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(status, {name.lower(): text for name, text in (headers or {}).items()})
    response.set_json(value)
    return response


@dataclasses.dataclass(slots=True)
class Event:
    """One server-sent event of a streamed answer: `data` is what follows `data: ` (`[DONE]` for the last
    event of an AOAI stream)."""

    data: str

    def json(self) -> Any:
        return json.loads(self.data)

    def set_json(self, value: Any) -> None:
        self.data = json.dumps(value, separators=(",", ":"), ensure_ascii=False)


RouteHandler = Callable[[Request], Awaitable[Response]]
# May change the request in place; returning a Response answers with it instead (nothing else runs).
RequestHook = Callable[[Request], Response | Awaitable[Response | None] | None]
# May change the answer's status, headers and body in place (every answer: errors and refusals too).
ResponseHook = Callable[[Request, Response], Awaitable[None] | None]
# Returns the event to send (changed or not), or None to drop it.
EventHook = Callable[[Request, Event], Event | None]


# --- Generation ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Prompt:
    """What a generator sees of a request, already validated and counted (for legacy completions `messages` holds
    one user message per prompt, and `n` counts the choices of every prompt)."""

    operation: Operation
    deployment: str
    model: str
    body: Mapping[str, Any]
    messages: Sequence[Mapping[str, Any]]
    max_tokens: int  # the most completion tokens a choice may hold (the request's cap within the model's)
    n: int
    stream: bool
    prompt_tokens: int

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (its text parts joined), or ""."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""


@dataclasses.dataclass(slots=True)
class Choice:
    """One choice of an answer: text, or tool calls (then `text` is None). Usage is counted from what the
    choice finally holds; text beyond the request's cap is cut there, with `finish_reason` "length"."""

    text: str | None
    finish_reason: str = "stop"
    tool_calls: list[dict[str, Any]] | None = None


# The answer's text (one per choice, repeated for `n`) or its choices; None: the simulator answers as usual.
Generate = Callable[[Prompt], str | Sequence[Choice] | None]
# Sees the choices the simulator (or an earlier generator) made; changes them in place or returns new ones.
WrapGenerator = Callable[[Prompt, list[Choice]], Sequence[Choice] | None]


# --- Latency ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Pace:
    """Time to first token, then tokens per second (None: the rest arrives with the first), each with a
    standard deviation (log-normal draws, as docs/latency.md describes)."""

    ttft_ms: float
    tokens_per_second: float | None = None
    ttft_std_ms: float = 0.0
    token_std_ms: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class LatencyQuery:
    """What a latency rule decides from: the request, its deployment, and the pace configured for it."""

    operation: Operation
    deployment: str
    model: str
    prompt_tokens: int
    stream: bool
    headers: Mapping[str, str]
    configured: Pace


# A Pace replaces the configured pace for this request (what it names only: prefill, bursts, reasoning and media
# work stay configured); None keeps it. Rules are asked in order; the first Pace wins. Consulted only while
# latency is enabled.
LatencyRule = Callable[[LatencyQuery], Pace | None]


# --- Limits ----------------------------------------------------------------------------------------------


class Limiter(Protocol):
    """A request limit kept in the simulator's rate-limit store (memory, or Table Storage shared by every
    instance). Give it to `add_route(limit=...)`, or call `check` yourself."""

    name: str

    async def check(self, key: str = "") -> None:
        """Count one request against the limit (per `key`, e.g. a model id); raise a 429 `ApiError` with
        `retry-after` when over it."""


# --- Record mode -----------------------------------------------------------------------------------------


class Forwarder:
    """Where record mode sends an extension route's requests and what it keeps of each exchange. In record
    mode the route's requests go to `upstream` and the answer (streams chunk by chunk) goes back to the
    client; `keep` decides which exchanges are saved. In replay mode a saved exchange that matches the request
    (method, path, query, body) answers it; others go to the route's handler. Subclass to change any step."""

    def __init__(
        self,
        upstream: str,
        *,
        headers: Sequence[str] = ("content-type", "accept", "user-agent"),
        auth: Mapping[str, str] | None = None,
        cassette: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.headers = tuple(name.lower() for name in headers)  # request headers passed upstream
        self.auth = dict(auth or {})  # added upstream, e.g. {"ocp-apim-subscription-key": key}; never recorded
        self.cassette = cassette  # recording file (`folder/name.yaml`); None: `extensions/<route name>.yaml`
        self.timeout = timeout

    def target(self, request: Request) -> str:
        """The upstream URL for `request`."""
        return f"{self.upstream}{request.path}" + (f"?{request.query}" if request.query else "")

    def adapt(self, request: Request, response: Response) -> Response:
        """The upstream answer as the client gets it (e.g. URLs in headers pointed back at the simulator)."""
        return response

    def keep(self, request: Request, response: Response) -> bool:
        """Whether to save this exchange (`response.body` holds the whole answer, streams included)."""
        return True


# --- The handle an extension gets ------------------------------------------------------------------------


class Simulator:
    """What `initialize(simulator)` receives. Registrations are checked at once: a mistake stops start-up with
    a message naming the extension."""

    def __init__(self, registry: ExtensionRegistry, extension: str, path: Path) -> None:
        self._registry = registry
        self.name = extension  # the extension's file or folder as named in EXTENSION_PATH
        self.path = path  # where it was loaded from: read its own data files relative to this
        self.log = logging.getLogger(f"simulator.extensions.{path.stem}")

    @property
    def mode(self) -> str:
        """`generate`, `record` or `replay`, as the runtime config says now."""
        return self._registry.mode()

    @property
    def api_key(self) -> str:
        """The key clients present (for routes that check keys their own way)."""
        return self._registry.api_key()

    def add_route(
        self,
        path: str,
        handler: RouteHandler,
        *,
        methods: Sequence[str] = ("GET",),
        name: str | None = None,
        auth: bool = True,
        limit: Limiter | None = None,
        forwarder: Forwarder | None = None,
    ) -> None:
        """Serve `path` (Starlette syntax: `/things/{id}`, `/docs/{model}:analyze`) on both hosts, matched
        before the simulator's 404. `auth`: the simulator's key as `api-key`, `Authorization: Bearer` or
        `Ocp-Apim-Subscription-Key`. `limit` is checked before the handler runs."""
        self._registry.add_route(
            self.name, path, handler, methods=methods, name=name, auth=auth, limit=limit, forwarder=forwarder
        )

    def add_generator(self, operation: Operation, generate: Generate) -> None:
        """Answer `operation` (chat completions or completions) with your text; the simulator shapes it (whole or
        streamed), cuts it at the request's cap and counts its usage exactly."""
        self._registry.add_generator(self.name, operation, generate)

    def wrap_generator(self, operation: Operation, wrap: WrapGenerator) -> None:
        """Change the choices of every generated answer to `operation` (chat completions or completions)."""
        self._registry.wrap_generator(self.name, operation, wrap)

    def on_request(self, hook: RequestHook) -> None:
        """Run `hook` on every request before it is answered, in every mode."""
        self._registry.on_request(self.name, hook)

    def on_response(self, hook: ResponseHook) -> None:
        """Run `hook` on every answer before it is sent, refusals and errors included."""
        self._registry.on_response(self.name, hook)

    def on_stream_event(self, hook: EventHook) -> None:
        """Run `hook` on each server-sent event of every streamed answer, as it is sent."""
        self._registry.on_stream_event(self.name, hook)

    def add_latency_rule(self, rule: LatencyRule) -> None:
        self._registry.add_latency_rule(self.name, rule)

    def limiter(self, name: str, *, requests: int, per_seconds: float = 1.0) -> Limiter:
        """A limit of `requests` per `per_seconds` (a fixed window), shared by every instance when rate limits
        live in Table Storage. 429s name the limit and carry `retry-after`."""
        return self._registry.limiter(self.name, name, requests, per_seconds)


def _decode_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise ApiError(400, "InvalidRequest", "The request body is not valid JSON.") from None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""
