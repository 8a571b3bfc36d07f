"""A no-op request hook and response hook: what `python -m bench --hooks` loads to measure what hooks cost."""

from __future__ import annotations

from simulator import extend


def request_hook(request: extend.Request) -> None:
    return None


def response_hook(request: extend.Request, response: extend.Response) -> None:
    return None


def initialize(simulator: extend.Simulator) -> None:
    simulator.on_request(request_hook)
    simulator.on_response(response_hook)
