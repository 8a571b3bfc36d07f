"""Run by test_sigkill: one process writing shared state for ever, printing a line after each step, to be killed.

Modes:
- `record files DIR [SAVES]` / `record blob CONNECTION CONTAINER`: append interactions to a recording (a chat answer
  of 30 KB, so a save is caught in the middle) through the recorder's writer and persister; prints the count saved
  (and exits after SAVES saves, if given: a restart that is not killed).
- `hold DIR NAME`: a save in another process, stopped in the middle: writes half of a one-interaction recording to
  its temporary file through the file persister's own writer, prints `holding`, and finishes the save (prints
  `saved`) when a line arrives on stdin; killed while holding, it is a killed save.
- `limits CONNECTION TABLE`: admit requests against one Table-backed deployment budget, renewing leases as they
  run out; prints the tokens admitted so far.
- `config CONNECTION TABLE`: patch the shared runtime config in Table Storage; prints the patch number applied.

Each mode first reads what the killed processes before it left, exactly as a restarted instance would (every
recording loaded, the limiter started, the config adopted); anything broken fails that start, and the parent
sees the process exit instead of making progress. Logging goes to stderr, where the parent looks for errors.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from pathlib import Path

from simulator.errors import OpenAIError
from simulator.recording.interaction import Interaction, RecordedRequest, RecordedResponse
from simulator.recording.serializer import dumps, loads
from simulator.recording.writer import CassetteWriter

NAME = "gpt-4o/chat-completions.yaml"
PATH = "/openai/deployments/gpt-4o/chat/completions"
TPM = 20_000
COST = 50  # max_tokens of each request the limiter admits


def answer(index: int) -> bytes:
    content = f"answer {index} " + "padding " * 4000
    return (
        b'{"choices":[{"finish_reason":"stop","index":0,"message":{"content":"%s","role":"assistant"}}],'
        b'"created":1,"id":"chatcmpl-crash","model":"gpt-4o","object":"chat.completion",'
        b'"usage":{"completion_tokens":1,"prompt_tokens":1,"total_tokens":2}}'
    ) % content.encode()


async def record(kind: str, *where: str) -> None:
    saves = None
    if kind == "files":
        from simulator.recording.persisters.files import FilePersister

        persister = FilePersister(Path(where[0]))
        saves = int(where[1]) if len(where) > 1 else None
    else:
        from simulator.recording.persisters.blob import BlobPersister

        persister = BlobPersister.from_connection_string(where[0], where[1])
    stored = await persister.read(NAME)
    saved = 0 if stored is None else len(loads(stored.text, source=NAME))  # type: ignore[union-attr]
    writer = CassetteWriter(persister)
    for _ in itertools.count() if saves is None else range(saves):
        writer.add(NAME, interaction(saved))
        saved += await writer.flush(NAME)
        print(saved, flush=True)


def interaction(index: int) -> Interaction:
    body = {"messages": [{"role": "user", "content": f"crash {index}"}]}
    request = RecordedRequest("POST", PATH, query="api-version=2024-10-21", body=body)
    response = RecordedResponse.from_body(200, {"content-type": "application/json"}, 0.01, answer(index))
    return Interaction(request, response)


async def hold(directory: str, name: str) -> None:
    from simulator.recording.persisters.files import temporary_beside

    text = dumps([interaction(0)]).encode()
    with temporary_beside(Path(directory) / name, 0o644) as file:
        file.write(text[: len(text) // 2])
        file.flush()
        print("holding", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        file.write(text[len(text) // 2 :])
    print("saved", flush=True)


async def limits(connection_string: str, table: str) -> None:
    from simulator.ratelimit import RateLimitConfig, RateLimiter
    from tests.ratelimit.factory import chat, standard

    config = RateLimitConfig(
        connection_string=connection_string, table_name=table, lease_fraction=0.05, lease_seconds=0.2
    )
    limiter = RateLimiter.from_config(config)
    await limiter.start()
    request = chat(standard("crash", tpm=TPM, rpm=None), max_tokens=COST)
    admitted = 0
    while True:
        try:
            await limiter.admit(request)
            admitted += COST
        except OpenAIError as error:
            assert error.status == 429, error.body()
        print(admitted, flush=True)
        await asyncio.sleep(0.002)


async def config(connection_string: str, table: str) -> None:
    from simulator.app import initial_config
    from simulator.runtime_config.table import TableConfigStore
    from simulator.settings import Settings

    store = TableConfigStore.connect(
        initial_config(Settings()), table_name=table, connection_string=connection_string, poll_interval=0.05
    )
    await store.start()
    # Patches are numbered on from the one adopted, so the parent can tell which patch each process found.
    rules = store.current.to_json()["faults"].get("crash") or ["key=patch-0"]
    number = int(rules[0].rsplit("key=patch-", 1)[1])
    print(f"adopted {number}", flush=True)
    while True:
        number += 1
        patch = {"faults": {"crash": [f"429; first=1; key=patch-{number}"]}, "latency": {"enabled": number % 2 == 0}}
        await store.patch(patch)
        print(number, flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    mode, *arguments = sys.argv[1:]
    asyncio.run({"record": record, "hold": hold, "limits": limits, "config": config}[mode](*arguments))
