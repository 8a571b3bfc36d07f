"""Locust users, one per scenario: chat, streamed chat (with time to first token) and embeddings.

Run them together for a weighted mix (Locust spreads users by `weight`), or name one class to run it alone.
Every request waits out 429 answers as the server asks (`retry-after-ms`, then `retry-after`) and tries again;
each 429 is recorded as its own statistics entry so the latency of real answers stays clean.
"""

from __future__ import annotations

import itertools
import time

import gevent
from locust import HttpUser, task
from locust.clients import ResponseContextManager
from requests import RequestException

from loadtest import entries
from loadtest.api import ApiRequest, Operation, build_request, chat_body, embeddings_body
from loadtest.options import LoadTestOptions
from loadtest.prompts import PASSAGES, PROMPTS, cycle_from
from loadtest.retry import RetryPolicy
from loadtest.session import session_of
from loadtest.streaming import SseDecoder, StreamObserver
from loadtest.tally import usage_from


class AzureOpenAIUser(HttpUser):
    """Shared mechanics. HttpUser (requests), not FastHttpUser: requests yields each chunk of a stream as it
    arrives, while geventhttpclient's reads wait for a whole block, which would delay the first token."""

    abstract = True

    def on_start(self) -> None:
        self.options = LoadTestOptions.from_namespace(self.environment.parsed_options)
        self.retry = RetryPolicy(self.options.max_retries, self.options.max_retry_wait)
        self.tally = session_of(self.environment).tally
        offset = self.environment.runner.user_count if self.environment.runner else 0
        self.prompts = cycle_from(PROMPTS, offset)
        self.passages = cycle_from(PASSAGES, offset)

    def wait_time(self) -> float:
        return self.options.think_time

    def chat(self) -> None:
        body = chat_body(next(self.prompts), self.options.max_tokens, stream=False)
        self.send("chat", build_request(self.options, Operation.CHAT, self.options.chat_deployment, body))

    def stream_chat(self) -> None:
        body = chat_body(next(self.prompts), self.options.max_tokens, stream=True)
        request = build_request(self.options, Operation.CHAT, self.options.chat_deployment, body)
        self.send("chat stream", request, stream=True)

    def embed(self) -> None:
        body = embeddings_body(next(self.passages))
        self.send(
            "embeddings", build_request(self.options, Operation.EMBEDDINGS, self.options.embedding_deployment, body)
        )

    def send(self, name: str, request: ApiRequest, *, stream: bool = False) -> None:
        """POST until an answer other than 429 arrives or the retries are spent."""
        for attempt in itertools.count():
            started = time.perf_counter()
            with self.client.post(
                request.path, json=request.body, headers=request.headers, name=name, stream=stream, catch_response=True
            ) as response:
                if response.status_code != 429:
                    (self._read_stream if stream else self._read_json)(name, response, started)
                    return
                delay = self._rate_limited(response, attempt)
            if delay is None:
                return
            gevent.sleep(delay)

    def _rate_limited(self, response: ResponseContextManager, attempt: int) -> float | None:
        response.request_meta["request_type"] = entries.RATE_LIMITED
        delay = self.retry.delay(response.headers, attempt)
        if delay is None:
            response.failure(f"429 after {attempt} retries: {response.text[:200]}")
        else:
            response.success()
        return delay

    def _read_json(self, name: str, response: ResponseContextManager, started: float) -> None:
        if response.status_code != 200:
            response.failure(_http_error(response))
            return
        try:
            usage = usage_from(response.json())
        except ValueError:
            response.failure(f"response is not JSON: {response.text[:80]!r}")
            return
        self.tally.record(name, usage)

    def _read_stream(self, name: str, response: ResponseContextManager, started: float) -> None:
        if response.status_code != 200:
            response.failure(_http_error(response))
            return
        observer, decoder = StreamObserver(), SseDecoder()
        try:
            for chunk in response.iter_content(chunk_size=None):
                for payload in decoder.feed(chunk):
                    now = time.perf_counter()
                    if observer.observe(payload, now):
                        self._record_ttft(name, (now - started) * 1000)
        except RequestException as error:
            response.failure(f"stream broken: {error}")
            return
        # Locust timed the request up to its headers; a streamed answer is complete only at its last event.
        response.request_meta["response_time"] = (time.perf_counter() - started) * 1000
        if problem := observer.problem():
            response.failure(problem)
            return
        self.tally.record(name, observer.usage)

    def _record_ttft(self, name: str, milliseconds: float) -> None:
        self.environment.events.request.fire(
            request_type=entries.TTFT,
            name=name,
            response_time=milliseconds,
            response_length=0,
            exception=None,
            context={},
        )


class ChatUser(AzureOpenAIUser):
    weight = 3

    @task
    def chat_completion(self) -> None:
        self.chat()


class StreamingChatUser(AzureOpenAIUser):
    weight = 3

    @task
    def streamed_chat_completion(self) -> None:
        self.stream_chat()


class EmbeddingsUser(AzureOpenAIUser):
    weight = 1

    @task
    def embedding(self) -> None:
        self.embed()


def _http_error(response: ResponseContextManager) -> str:
    return f"HTTP {response.status_code}: {response.text[:200]}"
