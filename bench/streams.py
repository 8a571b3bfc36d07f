"""Many concurrent paced streams held by one client process, timing every arrival of tokens.

    python -m bench.streams --port P --path PATH --body JSON --streams N --interval-ms 20 [--ramp 1]

A raw asyncio protocol (no HTTP client library) keeps the client's cost per arrival to a few microseconds,
so the client is not what is measured. An arrival is the moment a release (a token, or a burst of `--burst`
tokens) is complete at the client; its gap to the previous one should be its tokens × the interval (reads
less than 1 ms apart are one read). Prints one JSON object:
- `gap_error_ms`: gap − tokens × interval, over all arrivals after the first (p50/p99/max);
- `lateness_ms`: arrival − (first arrival + tokens since × interval): drift within a stream;
- `split_bursts`: reads that brought only part of a burst (the server wrote a burst in pieces);
- `ttft_ms`: request sent → first content token;
- `client_cpu`: the client's CPU seconds over the wall time (near 1.0: the client may have lagged).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import gc
import json
import sys
import time

from bench.stats import distribution

TOKEN = b'"delta":{"content":"'  # a content delta; the role delta opens with an empty content
EMPTY_TOKEN = b'"delta":{"content":""'
DONE = b"data: [DONE]"
MERGE_S = 0.001


class PacedStream(asyncio.Protocol):
    def __init__(self, request: bytes, finished: asyncio.Future[None]) -> None:
        self.request = request
        self.finished = finished
        self.transport: asyncio.Transport | None = None
        self.sent = 0.0
        self.status_ok: bool | None = None
        self.times = array.array("d")  # arrays: no objects per arrival for the collector to walk
        self.tokens = array.array("i")
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.sent = time.monotonic()
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if self.status_ok is None:
            self.status_ok = data.startswith(b"HTTP/1.1 200")
        window = self.tail + data  # a pattern cut between two reads is counted in the second
        count = window.count(TOKEN) - window.count(EMPTY_TOKEN)
        count -= self.tail.count(TOKEN) - self.tail.count(EMPTY_TOKEN)
        self.tail = data[-len(EMPTY_TOKEN) :]
        if count > 0:
            self.times.append(now)
            self.tokens.append(count)
        if DONE in window and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


def http_request(port: int, path: str, body: bytes, api_key: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\napi-key: {api_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def open_stream(port: int, request: bytes, delay: float, longest: float) -> PacedStream | None:
    await asyncio.sleep(delay)
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()
    try:
        _, protocol = await loop.create_connection(lambda: PacedStream(request, finished), "127.0.0.1", port)
        await asyncio.wait_for(finished, longest)
    except (OSError, TimeoutError):
        return None
    return protocol


def reads(stream: PacedStream) -> tuple[list[float], list[int]]:
    """The stream's reads, those closer together than `MERGE_S` joined (at the later one's time)."""
    times: list[float] = []
    tokens: list[int] = []
    for at, count in zip(stream.times, stream.tokens, strict=True):
        if times and at - times[-1] < MERGE_S:
            times[-1] = at
            tokens[-1] += count
        else:
            times.append(at)
            tokens.append(count)
    return times, tokens


def arrivals(stream: PacedStream, burst: int) -> tuple[list[float], list[int], int]:
    """When each burst of `burst` tokens was complete at the client (the last one may be short), its size, and
    how many reads brought part of a burst only. Without bursts (0 or 1) each read is an arrival."""
    times, tokens = reads(stream)
    if burst <= 1:
        return times, tokens, 0
    done: list[float] = []
    sizes: list[int] = []
    partial = pending = complete = 0
    for at, count in zip(times, tokens, strict=True):
        complete, pending = divmod(pending + count, burst)
        partial += not complete
        done += [at] * complete
        sizes += [burst] * complete
    if pending:  # the short last burst, complete when the answer ended
        partial -= not complete
        done.append(times[-1])
        sizes.append(pending)
    return done, sizes, partial


def peak_open(streams: list[PacedStream]) -> int:
    """Most streams open at one moment (request sent, last tokens not yet arrived)."""
    edges = sorted([(s.sent, 1) for s in streams] + [(s.times[-1], -1) for s in streams])
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def analyse(streams: list[PacedStream | None], interval_ms: float, burst: int) -> dict[str, object]:
    gaps: list[float] = []
    lateness: list[float] = []
    ttft: list[float] = []
    split = 0
    complete = [s for s in streams if s is not None and s.status_ok and s.times]
    for stream in complete:
        times, tokens, partial = arrivals(stream, burst)
        split += partial
        ttft.append((times[0] - stream.sent) * 1000)
        since_first = 0
        for index in range(1, len(times)):
            since_first += tokens[index]
            gaps.append((times[index] - times[index - 1]) * 1000 - tokens[index] * interval_ms)
            lateness.append((times[index] - times[0]) * 1000 - since_first * interval_ms)
    return {
        "streams": len(streams),
        "complete": len(complete),
        "peak_open": peak_open(complete),
        "arrivals": len(gaps) + len(ttft),
        "split_bursts": split,
        "gap_error_ms": distribution(gaps),
        "lateness_ms": distribution(lateness),
        "ttft_ms": distribution(ttft),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    request = http_request(args.port, args.path, args.body.encode(), args.api_key)
    step = args.ramp / max(1, args.streams)
    cpu, wall = time.process_time(), time.monotonic()
    tasks = [open_stream(args.port, request, index * step, args.timeout) for index in range(args.streams)]
    streams = await asyncio.gather(*tasks)
    result = analyse(list(streams), args.interval_ms, args.burst)
    elapsed = time.monotonic() - wall
    result.update(seconds=elapsed, client_cpu=(time.process_time() - cpu) / elapsed if elapsed else 0.0)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.streams")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--streams", type=int, required=True)
    parser.add_argument("--interval-ms", type=float, required=True)
    parser.add_argument("--burst", type=int, default=0, help="the server's burstTokens: tokens per release")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which the streams open")
    parser.add_argument("--timeout", type=float, default=60.0, help="longest a stream may take")
    args = parser.parse_args(argv)
    gc.disable()  # the instrument must not pause; the run is bounded and keeps little garbage
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(args))
    else:
        result = uvloop.run(run(args))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
