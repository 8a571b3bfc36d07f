"""What a stored conversation turn costs the store: read the previous response, write the new one.

A Responses turn that continues a conversation (`previous_response_id`) reads the earlier response for its
tokens and stores itself; across instances that is one Blob download and one upload. This times that pair
against the memory store and against Blob Storage on a local Azurite (started here, tests/support/azurite.py),
with a response of the bench's size (a 50-token answer).

    python -m bench.response_store [--turns 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from simulator.responses.blob_store import BlobResponseStore
from simulator.responses.store import MemoryResponseStore, ResponseStore, StoredResponse
from tests.support.azurite import Azurite

TEXT = "Lorem ipsum dolor sit amet, " * 10  # about 50 tokens, as the bench's answers


def turn(index: int) -> StoredResponse:
    response_id = f"resp_bench{index:06d}"
    output = [{"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": TEXT}]}]  # fmt: skip
    response = {"id": response_id, "object": "response", "status": "completed", "output": output,
                "usage": {"input_tokens": 30, "output_tokens": 50, "total_tokens": 80}}  # fmt: skip
    items = [{"id": "msg_0", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi."}]}]
    return StoredResponse(response_id, "bench-chat", response, items, 80 * index, time.time())


async def turns(store: ResponseStore, count: int) -> list[float]:
    """Seconds each turn spent in the store: the previous response read, then this one written."""
    await store.start()
    spent = []
    try:
        for index in range(count):
            started = time.perf_counter()
            if index:
                await store.get(f"resp_bench{index - 1:06d}")
            await store.put(turn(index))
            spent.append(time.perf_counter() - started)
    finally:
        await store.close()
    return spent


def summary(name: str, spent: list[float]) -> str:
    ordered = sorted(spent)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name:<8} median {statistics.median(spent) * 1000:8.3f} ms   p99 {p99 * 1000:8.3f} ms"


async def run(count: int) -> None:
    print(summary("memory", await turns(MemoryResponseStore(), count)))
    azurite = Azurite().start()
    try:
        blob = BlobResponseStore.connect("benchturns", connection_string=azurite.connection_string)
        print(summary("blob", await turns(blob, count)))
    finally:
        azurite.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.response_store", description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=300)
    asyncio.run(run(parser.parse_args(argv).turns))


if __name__ == "__main__":
    main()
