"""Generated HTTP requests for every route of the route table, and the raw-socket client that sends the odd ones.

Each request is drawn from one family (`FuzzRequest.family`): bodies valid for the route's request schema in
../shared/specs, the same bodies mutated, arbitrary JSON, huge or deeply nested JSON, odd encodings (UTF-16 and
UTF-32, invalid UTF-8, NUL bytes, random bytes), odd headers (duplicated, oversized, many, wrong content types,
wrong keys), odd methods and paths; and, sent on a raw socket, requests that are not valid HTTP/1.1 at all. A
route added to the route table is fuzzed without a change here; its request and answer schemas are found in the
specs by its path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import re
import socket
import urllib.parse
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from simulator.api.routes import ALL_METHODS, ROUTES, Route
from tests.fuzz.schema_strategy import ANY_JSON, from_schema
from tests.support import spec

API_VERSIONS = ("2024-10-21", "2025-04-01-preview", "2024-02-15-preview")
# Deployments of the fuzz server, by the operation a path ends with; other names exercise 404s and defaults.
DEPLOYMENTS = {"chat/completions": "chat", "completions": "instruct", "embeddings": "embed"}
OTHER_DEPLOYMENTS = ("reasoner", "mini", "undefined-one", "a" * 64, "a" * 65, "x y", "..", "%00", "ü")
ODD_VALUES: list[Any] = [None, True, 0, -1, 2**70, 1.5, "", "x" * 300, "\u0000", [], [None], {}, {"type": None}]
PATH_PARAMETER = re.compile(r"\{[^}]+\}")
MAX_HEADER_BYTES = 16384  # the fuzz server's SIMULATOR_MAX_HEADER_BYTES
MAX_BODY_BYTES = 262144  # the fuzz server's SIMULATOR_MAX_BODY_BYTES


@dataclasses.dataclass(frozen=True)
class FuzzRequest:
    family: str
    route: Route
    method: str
    path: str  # with its query
    headers: tuple[tuple[str, bytes], ...]
    body: bytes
    raw: bytes | None = None  # the whole request, sent as it is on its own connection

    def __repr__(self) -> str:
        shown = self.raw if self.raw is not None else self.body
        return (
            f"FuzzRequest({self.family}: {self.method} {self.path[:200]!r} headers={len(self.headers)} {shown[:300]!r})"
        )


@dataclasses.dataclass(frozen=True)
class Contract:
    """What the specs say about a route: its request body schema and its 200 answer schemas (JSON, SSE)."""

    document: str | None = None
    request: str | None = None
    answer: str | None = None
    event: str | None = None


def contract(route: Route, method: str = "POST") -> Contract:
    if not spec.available():
        return Contract()
    if route.path.startswith("/openai/v1/"):
        document, path = spec.V1, route.path.removeprefix("/openai/v1")
    elif route.path.startswith("/openai/deployments/"):
        document, path = spec.GA, route.path.removeprefix("/openai").replace("{deployment}", "{deployment-id}")
    elif route.path.startswith("/openai/responses"):  # the classic surface's Responses API is v1's, dated
        document, path = spec.V1, route.path.removeprefix("/openai")
    else:
        return Contract()
    operation = spec.resolve("#/paths", document).get(path, {}).get(method.lower())
    if operation is None:
        return Contract()
    base = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method.lower()}"
    has_json_body = "application/json" in operation.get("requestBody", {}).get("content", {})
    answers = operation.get("responses", {}).get("200", {}).get("content", {})
    answer = f"{base}/responses/200/content/application~1json/schema" if "application/json" in answers else None
    event = f"{base}/responses/200/content/text~1event-stream/schema" if "text/event-stream" in answers else None
    return Contract(
        document,
        f"{base}/requestBody/content/application~1json/schema" if has_json_body else None,
        answer,
        event or (answer if "oneOf" in answers["application/json"]["schema"] else None),  # GA chat: one for both
    )


def _deployment(route: Route) -> str:
    return next((name for suffix, name in DEPLOYMENTS.items() if route.path.endswith(suffix)), "chat")


@st.composite
def fuzz_requests(draw: st.DrawFn, api_key: str) -> FuzzRequest:
    family = draw(st.sampled_from(FAMILIES))
    if family == "raw":
        return draw(_raw_requests())
    route = draw(st.sampled_from(ROUTES))
    terms = contract(route)
    body = draw(_bodies(family, route, terms))
    method = sorted(route.methods)[0] if route.methods != frozenset(ALL_METHODS) else "GET"
    if family == "method":
        method = draw(st.sampled_from([*ALL_METHODS, "PROPFIND", "TRACE", "BREW"]))
    path = route.path.replace("{path:path}", draw(st.sampled_from(["x", "openai/unknown", "a/" * 40, "%2e%2e/x"])))
    deployment = _deployment(route)
    if family == "path":
        deployment = draw(st.sampled_from(OTHER_DEPLOYMENTS) | st.text(min_size=1, max_size=80).map(_quoted))
    path = path.replace("{deployment}", deployment)
    # Any other path parameter (an image's name, a dashboard asset, a stored response's id): a plausible value or
    # an odd one.
    for name in PATH_PARAMETER.findall(path):
        value = draw(st.sampled_from(["x", "app.js", "resp_0123", "img_" + "0" * 32 + ".png"]) | st.text(min_size=1))
        path = path.replace(name, _quoted(value), 1)
    dated = path.startswith("/openai/") and not path.startswith("/openai/v1/")
    if dated or family == "path":
        version = draw(st.sampled_from(API_VERSIONS) if family != "path" else st.text(max_size=20).map(_quoted))
        path += f"?api-version={version}"
    headers = draw(_headers(family, api_key))
    return FuzzRequest(family, route, method, path, headers, body)


def _bodies(family: str, route: Route, terms: Contract) -> st.SearchStrategy[bytes]:
    valid = _valid(route, terms)
    if family in ("valid", "method", "path", "headers"):
        return valid.map(_encode)
    if family == "mutated":
        return st.tuples(valid, st.randoms(use_true_random=False)).map(lambda pair: _encode(mutate(*pair)))
    if family == "json":
        return ANY_JSON.map(_encode)
    if family == "large":
        return st.one_of(
            st.sampled_from([10, 63, 64, 65, 200, 1000, 1024, 1030, 5000]).map(_deep),
            st.sampled_from([2048, 2049, 5000]).map(
                lambda n: _encode({"model": "chat", "messages": [{"role": "user", "content": "a"}] * n})
            ),
            st.sampled_from([2048, 2049, 3000]).map(
                lambda n: _encode({"model": "embed", "input": ["a"] * n, "prompt": ["b"] * n, "dimensions": 1})
            ),
            st.just(
                _encode({"model": "chat", "messages": [{"role": "user", "content": "a" * (MAX_BODY_BYTES - 200)}]})
            ),
            st.just(b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}"),
            st.just(
                _encode(
                    {"model": "chat", "n": 128, "max_tokens": 100000, "messages": [{"role": "user", "content": "hi"}]}
                )
            ),
        )
    # family == "encoding"
    return st.one_of(
        st.tuples(valid, st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])).map(
            lambda pair: json.dumps(pair[0]).encode(pair[1])
        ),
        valid.map(lambda value: _encode(value).replace(b'"', b'"\xff\xfe', 1)),
        valid.map(lambda value: _encode(value).replace(b'":', b'\x00":', 1)),
        valid.map(lambda value: _encode(value).replace(b'"}', b'\\u0000\\ud800"}', 1)),
        st.binary(max_size=200),
        st.just(b""),
    )


def _valid(route: Route, terms: Contract) -> st.SearchStrategy[Any]:
    if terms.request is None or terms.document is None:
        return ANY_JSON
    deployment = _deployment(route)

    def named(value: Any) -> Any:
        if isinstance(value, dict) and terms.document == spec.V1:
            return {**value, "model": deployment}
        return value

    return from_schema(terms.request, terms.document).map(named)


def _headers(family: str, api_key: str) -> st.SearchStrategy[tuple[tuple[str, bytes], ...]]:
    good = (("api-key", api_key.encode()), ("content-type", b"application/json"))
    if family != "headers":
        return st.just(good)
    variants = st.sampled_from(
        [
            (("authorization", f"Bearer {api_key}".encode()), ("content-type", b"application/json")),
            (("api-key", b"wrong"), ("api-key", api_key.encode())),
            (("api-key", api_key.encode()), ("api-key", b"wrong")),
            (("authorization", b"Bearer"), ("content-type", b"text/plain")),
            (("api-key", api_key.encode()), ("content-type", b"multipart/form-data; boundary=x")),
            (("api-key", api_key.encode()), ("x-big", b"a" * (MAX_HEADER_BYTES + 10))),
            (("api-key", api_key.encode()), *((f"x-h{i}", b"v" * 50) for i in range(150))),
            (("api-key", api_key.encode()), ("x-latin", bytes(range(0x80, 0x100)))),
            (("api-key", api_key.encode()), ("content-length-ish", b"-1"), ("x-ms-client-request-id", b"a\tb")),
            (("api-key", api_key.encode() + b"\xff"),),
            (),
        ]
    )
    return variants


def _raw_requests() -> st.SearchStrategy[FuzzRequest]:
    route = next(route for route in ROUTES if route.name == "not_found")
    lines = st.sampled_from(
        [
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET /\x00 HTTP/1.1\r\nhost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n",
            b"GET / HTTP/9.9\r\nhost: x\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS client hello on a plain port
            b"POST /openai/v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            b"POST /openai/v1/embeddings HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\n1234",
            b"POST /openai/v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: -3\r\n\r\n",
            b"GET / HTTP/1.1\r\nhost: x\r\n\r\nGET /openai/v1/models HTTP/1.1\r\nhost: x\r\n\r\n",  # pipelined
            b"GET /" + b"a" * (MAX_HEADER_BYTES + 100) + b" HTTP/1.1\r\nhost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n",
            b"OPTIONS * HTTP/1.1\r\nhost: x\r\n\r\n",
            b"GET http://other.example/ HTTP/1.1\r\nhost: x\r\n\r\n",
        ]
    )
    return st.one_of(lines, st.binary(min_size=1, max_size=300)).map(
        lambda raw: FuzzRequest("raw", route, "RAW", "", (), b"", raw=raw)
    )


FAMILIES = ("valid", "valid", "mutated", "mutated", "json", "large", "encoding", "headers", "method", "path", "raw")


def _quoted(text: str) -> str:
    """Percent-encoded, as a client library sends it (raw control bytes in a path are the raw family's)."""
    return urllib.parse.quote(text, safe="")


def _encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False).encode()


def _deep(depth: int) -> bytes:
    return b'{"model":"chat","messages":[{"role":"user","content":' + b"[" * depth + b"]" * depth + b"}]}"


def mutate(value: Any, rng: random.Random, odd_values: Sequence[Any] = ODD_VALUES, depth: int = 0) -> Any:
    """Replace, drop or corrupt one part of a JSON value, or add an unknown field beside one."""
    if isinstance(value, dict) and value and depth < 4:
        mutated = dict(value)
        key = rng.choice(sorted(mutated))
        action = rng.random()
        if action < 0.25:
            del mutated[key]
        elif action < 0.5:
            mutated[key] = rng.choice(odd_values)
        elif action < 0.6:
            mutated[f"unknown_{key}"] = rng.choice(odd_values)
        else:
            mutated[key] = mutate(mutated[key], rng, odd_values, depth + 1)
        return mutated
    if isinstance(value, list) and value and depth < 4:
        mutated = list(value)
        index = rng.randrange(len(mutated))
        chosen = rng.random() < 0.6
        mutated[index] = mutate(mutated[index], rng, odd_values, depth + 1) if chosen else rng.choice(odd_values)
        return mutated
    return rng.choice(odd_values)


def send_raw(port: int, data: bytes, timeout: float) -> bytes:
    """Send `data` on a new connection; return the first answer (its head, and its body as far as
    `content-length` says, or to the close), or what came before the server closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                head, found, body = received.partition(b"\r\n\r\n")
                length = _content_length(head) if found else None
                if length is not None and len(body) >= length:
                    break
        except ConnectionResetError:
            pass
        return received


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None
