"""The floor for paced streams: a bare asyncio protocol on uvloop that answers every request with the same
SSE bytes as the simulator, on the same schedule, and does nothing else.

    python -m bench.stream_floor --port P --body FILE --ttft-ms 100 --interval-ms 20 [--burst 10]

Each release is one `transport.write` from a timer callback (one loop timer per millisecond), so what this
process spends is the least any Python server pays for the same writes on the same core: mostly the
kernel's. The bench runs the same client against it and against the simulator, so the stream figures have
a ceiling just as the throughput figures do.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from pathlib import Path

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
)
CONTENT = b'"delta":{"content":"'
EMPTY = b'"delta":{"content":""'
END = b"0\r\n\r\n"


def schedule(body: bytes, ttft: float, interval: float, burst: int) -> list[tuple[float, bytes]]:
    """(seconds after the request, chunk-framed bytes) per release: the first token at `ttft`, one token
    every `interval` after it, and with bursts, events held until `burst` tokens are ready (the last burst
    when the answer ends), as the simulator's latency plan does."""
    events = [event + b"\n\n" for event in body.split(b"\n\n") if event]
    times: list[float] = []
    now, produced, pending, start = ttft, 0, 0, 0
    for index, event in enumerate(events):
        count = event.count(CONTENT) - event.count(EMPTY)
        if count:
            now += interval * (count - 1 if produced == 0 else count)
            produced += count
        pending += count
        if pending >= burst or index == len(events) - 1:
            times += [now] * (index + 1 - start)
            start, pending = index + 1, 0
    releases: list[tuple[float, bytes]] = []
    for at, group in itertools.groupby(zip(times, events, strict=True), key=lambda pair: pair[0]):
        data = b"".join(event for _, event in group)
        releases.append((at, b"%x\r\n%s\r\n" % (len(data), data)))
    return releases


class FloorStream(asyncio.Protocol):
    def __init__(self, server: FloorServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.received = b""
        self.started = 0.0
        self.next = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.started:
            return
        self.received += data
        head, found, rest = self.received.partition(b"\r\n\r\n")
        if not found:
            return
        length = next(
            (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        if len(rest) < length:
            return
        self.started = time.monotonic()
        assert self.transport is not None
        self.transport.write(HEAD)
        self.server.call_at(self.started + self.server.releases[0][0], self)

    def release(self) -> None:
        transport, releases = self.transport, self.server.releases
        if transport is None or transport.is_closing():
            return
        now = time.monotonic() - self.started
        while self.next < len(releases) and releases[self.next][0] <= now + 0.001:
            transport.write(releases[self.next][1])
            self.next += 1
        if self.next == len(releases):
            transport.write(END)
            transport.close()
            return
        self.server.call_at(self.started + releases[self.next][0], self)


class FloorServer:
    def __init__(self, releases: list[tuple[float, bytes]]) -> None:
        self.releases = releases
        self._slots: dict[int, list[FloorStream]] = {}
        self._loop = asyncio.get_running_loop()

    def call_at(self, deadline: float, stream: FloorStream) -> None:
        slot = round(deadline * 1000)
        waiting = self._slots.get(slot)
        if waiting is None:
            waiting = self._slots[slot] = []
            self._loop.call_at(self._loop.time() + slot / 1000 - time.monotonic(), self._fire, slot)
        waiting.append(stream)

    def _fire(self, slot: int) -> None:
        for stream in self._slots.pop(slot, ()):
            stream.release()


async def serve(args: argparse.Namespace) -> None:
    releases = schedule(args.body.read_bytes(), args.ttft_ms / 1000, args.interval_ms / 1000, args.burst)
    floor = FloorServer(releases)
    server = await asyncio.get_running_loop().create_server(
        lambda: FloorStream(floor), args.host, args.port, backlog=8192
    )
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stream_floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True, help="a stream's SSE body, as the simulator sent it")
    parser.add_argument("--ttft-ms", type=float, required=True)
    parser.add_argument("--interval-ms", type=float, required=True)
    parser.add_argument("--burst", type=int, default=0)
    args = parser.parse_args(argv)
    import uvloop

    uvloop.run(serve(args))


if __name__ == "__main__":
    main()
