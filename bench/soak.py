"""Soak at saturation with hostile clients (docs/security.md: Load held): `python -m bench.soak [--minutes 10]`.

One simulator (latency off, so it is CPU-bound) is driven by wrk at saturation with a mix of whole and streamed
chat answers, one minute per wrk run so each minute has its own percentiles, while a few hostile clients (5 % of
the connections by default) do what a shared endpoint meets: trickle headers (slow-loris), ask for big answers
and never read them, send garbage, oversized or deeply nested bodies and wrong keys, and leave mid-answer.
Reported per minute: answers per second, p50/p99/max latency, status classes, the server's resident memory and
its CPU (share of its core, and per answer: on a shared machine the share shows when others took the core); then
whether memory stayed flat after the warm-up minute (within 10 %), no answer was a 5xx, and every minute's p99
stayed within twice the first minute's.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.procstat import process_cpu_seconds, resident_bytes
from bench.servers import PinnedServer, simulator_command
from bench.wrk import lua_string

KEY = "soak-key"
CHAT = "/openai/deployments/chat/chat/completions?api-version=2024-10-21"
PLAIN = json.dumps({"messages": [{"role": "user", "content": "Hello there"}], "max_tokens": 50})
STREAM = json.dumps({"messages": [{"role": "user", "content": "Stream it"}], "max_tokens": 50, "stream": True})
MARKER = "SOAK-JSON "
# Every fourth request is a stream; status classes are counted per thread and summed in `done`.
SCRIPT = """
wrk.method = "POST"
wrk.headers["api-key"] = {key}
wrk.headers["content-type"] = "application/json"
local plain, stream, counter = {plain}, {stream}, 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, counter % 4 == 0 and stream or plain)
end
s2, s4, s5 = 0, 0, 0
response = function(status, headers, body)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1 else s2 = s2 + 1 end
end
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local t2, t4, t5 = 0, 0, 0
  for _, thread in ipairs(threads) do
    t2, t4, t5 = t2 + thread:get("s2"), t4 + thread:get("s4"), t5 + thread:get("s5")
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK-JSON {{"requests":%d,"duration_us":%d,"s2":%d,"s4":%d,"s5":%d,"socket":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}}\\n',
    summary.requests, summary.duration, t2, t4, t5, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50.0), latency:percentile(99.0), latency.max))
end
"""


class Hostile:
    """Hostile clients on their own event loop in a thread; counts what they got back, by status class."""

    def __init__(self, port: int, clients: int, seed: int = 0) -> None:
        self.port = port
        self.clients = clients
        self.random = random.Random(seed)
        self.counts: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="hostile", daemon=True)

    def start(self) -> Hostile:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        kinds = [self._slow_loris, self._stalled_reader, self._garbage]
        await asyncio.gather(*(self._loop(kinds[index % len(kinds)]) for index in range(self.clients)))

    async def _loop(self, kind) -> None:  # type: ignore[no-untyped-def]
        while not self._stop.is_set():
            try:
                await kind()
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                self.counts["closed"] += 1

    async def _answer(self, reader: asyncio.StreamReader) -> None:
        async with asyncio.timeout(30):
            line = await reader.readline()
        parts = line.split(b" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        self.counts[f"{status // 100}xx" if status else "closed"] += 1

    async def _slow_loris(self) -> None:
        """A header byte a second: cut off at the header timeout with a 408."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            for byte in f"POST {CHAT} HTTP/1.1\r\nhost: x\r\napi-key: {KEY}\r\nx-slow: ".encode() + b"a" * 100:
                if self._stop.is_set() or reader.at_eof():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    await asyncio.wait_for(self._answer(reader), 1.0)
                    return
                except TimeoutError:
                    continue
        finally:
            writer.close()

    async def _stalled_reader(self) -> None:
        """Big answers (128 choices) it never reads, held for a while, then dropped."""
        _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            body = json.dumps({"messages": [{"role": "user", "content": "x"}], "n": 128, "stream": True}).encode()
            head = f"POST {CHAT} HTTP/1.1\r\nhost: x\r\napi-key: {KEY}\r\ncontent-type: application/json\r\n"
            writer.write(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
            for _ in range(20):
                if self._stop.is_set():
                    break
                await asyncio.sleep(0.5)
            self.counts["stalled"] += 1
        finally:
            writer.close()

    async def _garbage(self) -> None:
        """Garbage, oversized, deeply nested, wrong keys, and a client that leaves before its answer."""
        choice = self.random.randrange(6)
        bodies = [
            b"\x00\xff" * 50,
            b'{"messages": ' + b"[" * 1000 + b"]" * 1000 + b"}",
            b'{"messages": [{"role": "user", "content": "' + b"a" * (5 * 1024 * 1024) + b'"}]}',
            PLAIN.encode(),
            STREAM.encode(),
            b'{"messages": "nope"}',
        ]
        body = bodies[choice]
        key = "wrong" if choice == 3 else KEY
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            head = f"POST {CHAT} HTTP/1.1\r\nhost: x\r\napi-key: {key}\r\ncontent-type: application/json\r\n"
            writer.write(f"{head}content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
            await writer.drain()
            if choice == 4:  # leaves before its answer
                self.counts["left"] += 1
                return
            await self._answer(reader)
        finally:
            writer.close()


def run_minute(port: int, connections: int, script: Path, seconds: int = 60) -> dict[str, float]:
    command = [
        "taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout=10s", "-s", str(script),
        f"http://127.0.0.1:{port}{CHAT}",
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise RuntimeError(f"no wrk summary: {completed.stdout[-500:]} {completed.stderr[-500:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--connections", type=int, default=48, help="wrk's closed-loop connections")
    parser.add_argument("--hostile", type=int, default=3, help="hostile clients (default: 5 %% of all)")
    parser.add_argument("--minute-seconds", type=int, default=60, help="length of a 'minute' (shorter for a smoke run)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        deployments = Path(scratch) / "deployments.json"
        deployments.write_text(json.dumps({"chat": {"model": "gpt-4o", "tokensPerMinute": 1_000_000_000}}))
        script = Path(scratch) / "soak.lua"
        script.write_text(SCRIPT.format(key=lua_string(KEY), plain=lua_string(PLAIN), stream=lua_string(STREAM)))
        env = {
            "SIMULATOR_API_KEY": KEY,
            "SIMULATOR_LATENCY_ENABLED": "false",
            "OPENAI_DEPLOYMENT_CONFIG_PATH": str(deployments),
            "TIKTOKEN_CACHE_DIR": os.environ.get("TIKTOKEN_CACHE_DIR", ""),
        }
        with PinnedServer("simulator", simulator_command(), core=0, env=env) as server:
            server.wait_for(CHAT, PLAIN.encode(), {"api-key": KEY, "content-type": "application/json"})
            hostile = Hostile(server.port, args.hostile).start()
            started = time.monotonic()
            minutes = []
            try:
                for minute in range(1, args.minutes + 1):
                    cpu_before = process_cpu_seconds(server.pid)
                    result = run_minute(server.port, args.connections, script, args.minute_seconds)
                    result["rss_mib"] = resident_bytes(server.pid) / 2**20
                    result["cpu_s"] = process_cpu_seconds(server.pid) - cpu_before
                    minutes.append(result)
                    seconds = result["duration_us"] / 1e6
                    rate = result["requests"] / seconds
                    print(
                        f"minute {minute:2d}: {rate:7.1f}/s  p50 {result['p50_us'] / 1e3:7.2f} ms  "
                        f"p99 {result['p99_us'] / 1e3:7.2f} ms  max {result['max_us'] / 1e3:8.2f} ms  "
                        f"2xx {result['s2']}  4xx {result['s4']}  5xx {result['s5']}  socket {result['socket']}  "
                        f"resident {result['rss_mib']:.1f} MiB  server CPU {result['cpu_s'] / seconds:4.0%} of a core, "
                        f"{result['cpu_s'] / max(1, result['requests']) * 1e6:.0f} µs per answer",
                        flush=True,
                    )
            finally:
                hostile.stop()
            errors = server.stop()
    elapsed = time.monotonic() - started
    print(f"hostile clients ({args.hostile}): {dict(sorted(hostile.counts.items()))}")
    warm = minutes[1]["rss_mib"] if len(minutes) > 1 else minutes[0]["rss_mib"]
    growth = max(m["rss_mib"] for m in minutes[1:] or minutes) / warm - 1
    worst = max(m["p99_us"] for m in minutes) / minutes[0]["p99_us"]
    fives = sum(m["s5"] for m in minutes) + hostile.counts["5xx"]
    # On a shared machine the server gets less of its core when others run: CPU per answer tells whether the
    # server itself slowed down (a leak, a growing structure) or only got less time.
    per_answer = [m["cpu_s"] / max(1, m["requests"]) for m in minutes]
    print(f"server CPU per answer, worst minute / minute 1 = {max(per_answer) / per_answer[0]:.2f}")
    print(
        f"{len(minutes)} minutes in {elapsed:.0f} s: memory after minute 2 grew {growth:+.1%} at most (limit +10 %); "
        f"5xx {fives} (limit 0); worst minute's p99 / minute 1's = {worst:.2f} (limit 2)"
    )
    if "Traceback" in errors:
        print(f"server stderr: {errors}")
    return 0 if growth <= 0.10 and fives == 0 and worst <= 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
