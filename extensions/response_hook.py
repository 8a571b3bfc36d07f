"""Example extension: a response hook that adds a header to every answer and redacts a field.

    EXTENSION_PATH=extensions/response_hook.py make run

Every answer (errors too) gets `x-simulator-hooked: 1`. The `system_fingerprint` of chat answers is replaced
by `REDACTED`, in whole answers and in each streamed event.
"""

from __future__ import annotations

from simulator import extend

FIELD = "system_fingerprint"
REDACTED = "REDACTED"


def stamp_and_redact(request: extend.Request, response: extend.Response) -> None:
    response.headers["x-simulator-hooked"] = "1"
    if response.streamed or FIELD.encode() not in response.body:  # cheap test first: most answers lack it
        return
    body = response.json()
    if isinstance(body, dict) and FIELD in body:
        body[FIELD] = REDACTED
        response.set_json(body)


def redact_event(request: extend.Request, event: extend.Event) -> extend.Event:
    if FIELD in event.data:  # cheap test first: most events are decoded only when they hold the field
        payload = event.json()
        payload[FIELD] = REDACTED
        event.set_json(payload)
    return event


def initialize(simulator: extend.Simulator) -> None:
    simulator.on_response(stamp_and_redact)
    simulator.on_stream_event(redact_event)
