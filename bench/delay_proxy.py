"""A TCP proxy that holds every byte a fixed time in each direction: a store `delay` seconds away.

Azurite on loopback answers in well under a millisecond; a real storage account in the same region is several
milliseconds away. Put this between the simulator and Azurite to see what that distance does to shared limits
(DESIGN.md §3). Each chunk read is written to the other side `delay` seconds after it was read, in order, so
the proxy adds latency without limiting throughput (every connection's two directions are independent).

    with DelayProxy(target_port, delay=0.005) as proxy:   # runs its own event loop in a thread
        ... connect to 127.0.0.1:proxy.port ...
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType

from tests.support.ports import free_port


class DelayProxy:
    def __init__(self, target_port: int, delay: float, *, host: str = "127.0.0.1") -> None:
        self.target_port = target_port
        self.delay = delay
        self.host = host
        self.port = free_port()
        self.connections = 0
        self.requests = 0  # HTTP/1.1 request lines seen going to the target: the store's round trips
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="delay-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connect, self.host, self.port)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _connect(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            target_reader, target_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_writer.close()
            return
        with contextlib.suppress(asyncio.CancelledError):  # the proxy closing
            await asyncio.gather(
                self._pipe(client_reader, target_writer, count=True),
                self._pipe(target_reader, client_writer),
                return_exceptions=True,
            )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, count: bool = False) -> None:
        """Read as it comes, write each chunk `delay` after it was read: the reading never waits for the writing."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()

        delivery = asyncio.create_task(deliver())
        try:
            while chunk := await reader.read(65536):
                queue.put_nowait((loop.time() + self.delay, chunk))
                if count:
                    self.requests += chunk.count(b" HTTP/1.1\r\n")
        except OSError:
            pass
        finally:
            queue.put_nowait((0.0, b""))
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await delivery
            writer.close()
