"""A stand-in Azure Functions host: starts the real Python worker and serves HTTP through it.

It does what the host does for a Python app with HTTP streams (`HttpUri` offered by the worker):
1. serve `FunctionRpc.EventStream`, start `worker.py` with the host's arguments and environment;
2. WorkerInitRequest (the worker indexes the app and starts its own web server, announced as `HttpUri`),
   FunctionsMetadataRequest, then a FunctionLoadRequest per function;
3. per HTTP request: route it as the host does, forward the request to `HttpUri` with `x-ms-invocation-id`,
   then send the InvocationRequest carrying the route values, and stream the worker's answer back as it arrives.
It forwards headers as the host's proxy does (see `_NOT_FORWARDED`). It does not reproduce host keys (every
function here is anonymous), the host's own admin routes (`/admin/...`, `/runtime/webhooks/...`), its request
body limit, the request body streamed rather than read first, or the response headers the host adds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.functions_host.channel import WorkerChannel
from tests.support.functions_host.routing import RouteTable, function_route, route_prefix
from tests.support.functions_host.worker_copy import import_protos
from tests.support.ports import free_port

# How long after the HTTP response ends the host waits for the InvocationResponse before calling it unanswered.
INVOCATION_GRACE = 5.0
HOST_VERSION = "4.1036.1.23224"  # a host version that offers HTTP streams (>= 4.34.1)
# Environment variables that switch worker.py to its Azure paths (/home/site/wwwroot); Core Tools has none.
AZURE_ONLY = ("CONTAINER_NAME", "WEBSITE_INSTANCE_ID", "WEBSITE_PLACEHOLDER_MODE")
# The host forwards with YARP's `IHttpForwarder.SendAsync` and its default transformer: every header but the
# hop-by-hop ones (RFC 9110 §7.6.1) and Host (the worker's own address goes instead), with X-Forwarded-For, -Proto
# and -Host set to what the host saw (replacing any the client sent).
_FORWARDED = ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host")
_NOT_FORWARDED = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        *_FORWARDED,
    )
)


@dataclasses.dataclass(frozen=True)
class Invocation:
    """One finished invocation as the worker reported it."""

    function: str
    status: str  # "Success" or "Failure" as the worker said; "Unanswered" when it said nothing (INVOCATION_GRACE)
    exception: str


@dataclasses.dataclass
class StartupTimes:
    """Seconds from launching the worker process to each step of the start-up exchange."""

    connected: float = 0.0  # StartStream received
    initialized: float = 0.0  # WorkerInitResponse: the app is indexed, HttpUri is up
    loaded: float = 0.0  # every FunctionLoadResponse received


class FunctionsHost:
    """The stand-in host in a thread of its own, so sync and async tests can drive it over real sockets."""

    def __init__(self, app_dir: Path, worker_dir: Path, env: Mapping[str, str]) -> None:
        self.app_dir = app_dir
        self.worker_dir = worker_dir
        self.env = dict(env)
        self.port = free_port()
        self.invocations: list[Invocation] = []
        self.times = StartupTimes()
        self.output: list[str] = []  # the worker process's stdout and stderr, by line
        self.http_uri = ""
        self.routes = RouteTable(())
        self._protos = import_protos(worker_dir)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="functions-host", daemon=True)
        self._process: subprocess.Popen[str] | None = None
        self._channel: WorkerChannel | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def worker_pid(self) -> int:
        return self._process.pid

    @property
    def logs(self) -> list[str]:
        """What the worker logged over gRPC (its own and the app's records), as `level category: message`."""
        names = self._protos.RpcLog.Level.Name
        return [f"{names(log.level)} {log.category}: {log.message}" for log in list(self._channel.logs)]

    def invocations_since(self, start: int, *, count: int = 1, timeout: float = 10.0) -> list[Invocation]:
        """The invocations after the first `start`, once `count` of them have finished (the client may see the end
        of a response before the worker's InvocationResponse arrives)."""
        deadline = time.monotonic() + timeout
        while len(self.invocations) < start + count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.invocations[start:]

    def start(self, *, timeout: float = 60.0) -> FunctionsHost:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FunctionsHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start(self) -> None:
        self._channel = channel = WorkerChannel(self._protos)
        await channel.start()
        launched = time.monotonic()
        self._launch_worker(channel.port)
        while not channel.started.done():
            if self._process.poll() is not None:
                raise RuntimeError("the worker exited before connecting:\n" + "".join(self.output))
            await asyncio.sleep(0.01)
        self.times.connected = time.monotonic() - launched
        protos = self._protos
        init = await channel.request(
            worker_init_request=protos.WorkerInitRequest(
                host_version=HOST_VERSION,
                capabilities={"MultiStream": "10"},
                function_app_directory=str(self.app_dir),
                worker_directory=str(self.worker_dir),
            )
        )
        _check(init.result, "WorkerInitRequest")
        self.http_uri = init.capabilities.get("HttpUri", "")
        if not self.http_uri:
            raise RuntimeError(f"the worker offered no HttpUri (capabilities {dict(init.capabilities)})")
        self.times.initialized = time.monotonic() - launched
        metadata = await channel.request(
            functions_metadata_request=protos.FunctionsMetadataRequest(function_app_directory=str(self.app_dir))
        )
        _check(metadata.result, "FunctionsMetadataRequest")
        await asyncio.gather(*(self._load(function) for function in metadata.function_metadata_results))
        prefix = route_prefix(self.app_dir)
        routes = [
            function_route(f.function_id, f.name, f.raw_bindings, prefix) for f in metadata.function_metadata_results
        ]
        self.routes = RouteTable(route for route in routes if route is not None)
        self.times.loaded = time.monotonic() - launched
        # The worker's server answers only requests that carry an invocation id; no pooled connection is reused
        # across a client that went away mid-stream (the real proxy does not reuse a cancelled one either).
        self._session = aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._serve)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _load(self, function: Any) -> None:
        protos = self._protos
        metadata = protos.RpcFunctionMetadata()
        metadata.CopyFrom(function)
        metadata.directory = str(self.app_dir)
        response = await self._channel.request(
            function_load_request=protos.FunctionLoadRequest(function_id=function.function_id, metadata=metadata)
        )
        _check(response.result, f"FunctionLoadRequest for {function.name}")

    def _launch_worker(self, grpc_port: int) -> None:
        worker_id, request_id = str(uuid.uuid4()), str(uuid.uuid4())
        env = {name: value for name, value in {**os.environ, **self.env}.items() if name not in AZURE_ONLY}
        env.update(
            {
                "FUNCTIONS_WORKER_RUNTIME": "python",
                "AzureWebJobsScriptRoot": str(self.app_dir),
                "FUNCTIONS_APPLICATION_DIRECTORY": str(self.app_dir),
                "FUNCTIONS_WORKER_DIRECTORY": str(self.worker_dir),
            }
        )
        # The arguments the host passes, in both its old and its new spelling.
        command = [
            sys.executable, str(self.worker_dir / "worker.py"),
            "--host", "127.0.0.1", "--port", str(grpc_port),
            "--workerId", worker_id, "--requestId", request_id,
            "--grpcMaxMessageLength", "2147483647",
            "--functions-uri", f"http://127.0.0.1:{grpc_port}/",
            "--functions-worker-id", worker_id, "--functions-request-id", request_id,
            "--functions-grpc-max-message-length", "2147483647",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, cwd=self.app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._drain, args=(self._process,), daemon=True).start()

    def _drain(self, process: subprocess.Popen[str]) -> None:
        for line in process.stdout:
            self.output.append(line)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        found = self.routes.resolve(request.method, request.path)
        if found is None:
            return web.Response(status=404)
        route, values = found
        invocation_id = str(uuid.uuid4())
        headers = [(name, value) for name, value in request.headers.items() if name.lower() not in _NOT_FORWARDED]
        headers.extend(_forwarded(request))
        headers.append(("x-ms-invocation-id", invocation_id))
        body = await request.read()
        # The host forwards the HTTP request first, then sends the invocation; the worker pairs them by id.
        forwarded = asyncio.ensure_future(
            self._session.request(
                request.method, self.http_uri + request.path_qs, headers=headers, data=body, allow_redirects=False
            )
        )
        await asyncio.sleep(0)
        invoked = asyncio.ensure_future(self._invoke(route, values, invocation_id))
        try:
            upstream = await forwarded
        except BaseException:
            invoked.cancel()
            raise
        try:
            return await self._relay(request, upstream)
        finally:
            upstream.close()
            _, unanswered = await asyncio.wait([invoked], timeout=INVOCATION_GRACE)
            if unanswered:  # the worker answered HTTP without running the function: the invocation hangs
                invoked.cancel()
                self.invocations.append(Invocation(route.name, "Unanswered", "no InvocationResponse"))

    async def _relay(self, request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        """Write the worker's response to the client chunk by chunk, as it arrives."""
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for name, value in upstream.headers.items():
            if name.lower() not in _NOT_FORWARDED and name.lower() != "content-length":
                response.headers.add(name, value)
        if upstream.content_length is not None:
            response.content_length = upstream.content_length
        await response.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
        except ConnectionResetError:  # the client left: drop the upstream (the caller closes it), as the host does
            return response
        except aiohttp.ClientError:  # the worker dropped the connection mid-answer: so does the host
            request.transport.abort()
            return response
        await response.write_eof()
        return response

    async def _invoke(self, route: Any, values: dict[str, str], invocation_id: str) -> None:
        protos = self._protos
        binding = protos.ParameterBinding(name=route.trigger, data=protos.TypedData(http=protos.RpcHttp(params=values)))
        answer = await self._channel.request(
            invocation_request=protos.InvocationRequest(
                invocation_id=invocation_id, function_id=route.function_id, input_data=[binding]
            )
        )
        status = protos.StatusResult.Status.Name(answer.result.status)
        self.invocations.append(Invocation(route.name, status, answer.result.exception.message))

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(asyncio.to_thread(self._process.wait), 10)
            except TimeoutError:
                self._process.kill()
        if self._channel is not None:
            await self._channel.stop()


def _forwarded(request: web.Request) -> list[tuple[str, str]]:
    return list(zip(_FORWARDED, (request.remote or "", request.scheme, request.host), strict=True))


def _check(result: Any, what: str) -> None:
    if result.status != result.Success:
        raise RuntimeError(f"{what} failed: {result.exception.message}\n{result.exception.stack_trace}")
