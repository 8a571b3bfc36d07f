"""The stand-in host's routing rules, which the worker tests rely on to reach each function as Azure would."""

from __future__ import annotations

import json

from tests.support.functions_host.routing import RouteTable, function_route


def table(routes: dict[str, str | None], prefix: str = "") -> RouteTable:
    def bindings(route: str | None) -> list[str]:
        return [json.dumps({"type": "httpTrigger", "name": "req", "route": route, "methods": ["GET", "POST"]})]

    return RouteTable(function_route(name, name, bindings(route), prefix) for name, route in routes.items())


def resolve(routes: RouteTable, path: str, method: str = "GET") -> tuple[str, dict[str, str]] | None:
    found = routes.resolve(method, path)
    return None if found is None else (found[0].name, found[1])


def test_literal_before_parameter_before_catch_all() -> None:
    routes = table({"all": "{*path}", "param": "a/{x}/c", "literal": "a/b/c"})
    assert resolve(routes, "/a/b/c") == ("literal", {})
    assert resolve(routes, "/a/z/c") == ("param", {"x": "z"})
    assert resolve(routes, "/a/z/c/d") == ("all", {"path": "a/z/c/d"})


def test_an_empty_route_is_the_function_name_and_the_catch_all_takes_the_root() -> None:
    routes = table({"health": "", "all": "{*path}"})
    assert resolve(routes, "/health") == ("health", {})
    assert resolve(routes, "/") == ("all", {})


def test_literals_ignore_case_and_the_prefix_comes_first() -> None:
    routes = table({"models": "openai/v1/models"}, prefix="api")
    assert resolve(routes, "/api/OpenAI/V1/models") == ("models", {})
    assert resolve(routes, "/openai/v1/models") is None


def test_only_declared_methods() -> None:
    assert resolve(table({"models": "models"}), "/models", "DELETE") is None
