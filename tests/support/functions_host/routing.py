"""The Functions host's HTTP routing, for the routes a worker reports in its function metadata.

Rules the real host applies (ASP.NET Core route templates) and that matter to this app:
- the route prefix from host.json (`extensions.http.routePrefix`, default `api`) comes first;
- a function without a route (or with an empty one) is reached at its function name;
- literal segments match case-insensitively and win over `{parameters}`, which win over a `{*catch-all}`,
  segment by segment from the left; a catch-all also matches nothing (so `/` reaches `{*path}`);
- a function answers only its declared methods (all of them when it declares none).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

LITERAL, PARAMETER, CATCH_ALL = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Segment:
    kind: int
    text: str  # the literal (lower-cased) or the parameter's name

    @classmethod
    def parse(cls, text: str) -> Segment:
        if text.startswith("{*") and text.endswith("}"):
            return cls(CATCH_ALL, text[2:-1])
        if text.startswith("{") and text.endswith("}"):
            return cls(PARAMETER, text[1:-1].split(":", 1)[0])  # drop a `:constraint`
        return cls(LITERAL, text.lower())


@dataclasses.dataclass(frozen=True)
class FunctionRoute:
    function_id: str
    name: str
    template: str
    methods: frozenset[str]  # empty: every method
    trigger: str  # the httpTrigger binding's name ("req"), which the InvocationRequest fills
    segments: tuple[Segment, ...]

    @property
    def precedence(self) -> tuple[int, ...]:
        return tuple(segment.kind for segment in self.segments)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The route values when `path` (without the leading slash) and `method` reach this function."""
        if self.methods and method.upper() not in self.methods:
            return None
        parts = path.split("/") if path else []
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.kind == CATCH_ALL:
                rest = "/".join(parts[index:])
                if rest:
                    values[segment.text] = rest
                return values
            if index >= len(parts) or not parts[index]:
                return None
            if segment.kind == LITERAL and parts[index].lower() != segment.text:
                return None
            if segment.kind == PARAMETER:
                values[segment.text] = parts[index]
        return values if len(parts) == len(self.segments) else None


class RouteTable:
    def __init__(self, routes: Iterable[FunctionRoute]) -> None:
        self.routes = sorted(routes, key=lambda route: route.precedence)

    def resolve(self, method: str, path: str) -> tuple[FunctionRoute, dict[str, str]] | None:
        path = path.strip("/")
        for route in self.routes:
            values = route.match(method, path)
            if values is not None:
                return route, values
        return None


def route_prefix(app_dir: Path) -> str:
    host = json.loads((app_dir / "host.json").read_text(encoding="utf-8"))
    return str(host.get("extensions", {}).get("http", {}).get("routePrefix", "api")).strip("/")


def function_route(function_id: str, name: str, raw_bindings: Iterable[str], prefix: str) -> FunctionRoute | None:
    """The route of one function from the raw bindings the worker reported; None when it has no HTTP trigger."""
    for raw in raw_bindings:
        binding: Mapping = json.loads(raw)
        if binding.get("type") != "httpTrigger":
            continue
        template = "/".join(part for part in (prefix, (binding.get("route") or name).strip("/")) if part)
        methods = frozenset(method.upper() for method in binding.get("methods") or ())
        segments = tuple(Segment.parse(part) for part in template.split("/") if part)
        return FunctionRoute(function_id, name, template, methods, binding["name"], segments)
    return None
