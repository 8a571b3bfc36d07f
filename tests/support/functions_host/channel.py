"""The host's end of `FunctionRpc.EventStream`: the one bidirectional gRPC stream a language worker opens.

The worker is the gRPC client; the host serves one `EventStream` call per worker and speaks over it in
`StreamingMessage`s, each carrying one `content` (start_stream, worker_init_request, invocation_response, ...).
Requests and their responses are paired here by content kind plus the id that makes them unique (a function id
for loads, an invocation id for invocations); the worker's `rpc_log` messages are kept for tests to read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

# Which response content answers which request content, and the field that pairs them when several are in flight.
_ANSWERS = {
    "worker_init_request": ("worker_init_response", None),
    "functions_metadata_request": ("function_metadata_response", None),
    "function_load_request": ("function_load_response", "function_id"),
    "invocation_request": ("invocation_response", "invocation_id"),
    "worker_status_request": ("worker_status_response", None),
}
_STOP = object()


class WorkerChannel:
    """A gRPC server with the `FunctionRpc` service for exactly one worker."""

    def __init__(self, protos: Any) -> None:
        self.protos = protos
        self.server = grpc.aio.server(
            options=[("grpc.max_receive_message_length", 2**31 - 1), ("grpc.max_send_message_length", 2**31 - 1)]
        )
        protos.add_FunctionRpcServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.started = asyncio.get_running_loop().create_future()  # the worker's StartStream
        self.logs: list[Any] = []  # RpcLog messages, in order
        self._outbox: asyncio.Queue[Any] = asyncio.Queue()
        self._pending: dict[tuple[str, str], asyncio.Future[Any]] = {}

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        self._outbox.put_nowait(_STOP)
        await self.server.stop(grace=0.5)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the worker's gRPC stream closed"))

    async def EventStream(self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:  # noqa: N802 (gRPC's name)
        reader = asyncio.ensure_future(self._read(requests))
        try:
            while (message := await self._outbox.get()) is not _STOP:
                yield message
        finally:
            reader.cancel()

    async def request(self, **content: Any) -> Any:
        """Send one request (`worker_init_request=...`) and return the worker's answering message content."""
        [(kind, body)] = content.items()
        answer, key_field = _ANSWERS[kind]
        key = getattr(body, key_field) if key_field else ""
        future = self._pending[(answer, key)] = asyncio.get_running_loop().create_future()
        self.send(**content)
        try:
            return await future
        finally:
            self._pending.pop((answer, key), None)

    def send(self, **content: Any) -> None:
        self._outbox.put_nowait(self.protos.StreamingMessage(request_id="stand-in-host", **content))

    async def _read(self, requests: AsyncIterator[Any]) -> None:
        async for message in requests:
            kind = message.WhichOneof("content")
            body = getattr(message, kind)
            if kind == "start_stream":
                if not self.started.done():
                    self.started.set_result(body.worker_id)
            elif kind == "rpc_log":
                self.logs.append(body)
            else:
                key_field = next((field for answer, field in _ANSWERS.values() if answer == kind), None)
                future = self._pending.get((kind, getattr(body, key_field) if key_field else ""))
                if future is not None and not future.done():
                    future.set_result(body)
