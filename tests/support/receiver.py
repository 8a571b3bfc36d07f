"""An HTTP endpoint on loopback that receives POSTs: a stand-in for telemetry collectors (OTLP, Application
Insights ingestion) in tests and benchmarks."""

from __future__ import annotations

import gzip
import http.server
import threading
from collections.abc import Callable
from typing import Any

from tests.support.ports import free_port


class PostReceiver:
    """Answers every POST with `answer(path, body)` (200, JSON); keeps each (path, body), un-gzipped, unless
    `keep` is false (a benchmark's sink counts them only)."""

    def __init__(self, answer: Callable[[str, bytes], bytes] | None = None, *, keep: bool = True) -> None:
        self.port = free_port()
        self.posts: list[tuple[str, bytes]] = []
        self.count = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.count += 1
                if keep:
                    receiver.posts.append((self.path, body))
                reply = answer(self.path, body) if answer is not None else b""
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PostReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
