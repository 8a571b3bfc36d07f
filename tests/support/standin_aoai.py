"""A stand-in Azure OpenAI on a loopback port: AOAI's wire format, SSE included, with deliberate delays.

It runs its own event loop in a thread, so synchronous and asynchronous tests (and an end-to-end test whose
simulator forwards to it) can all use it. Answers are deterministic functions of the request; JSON layouts
differ per operation on purpose (compact chat, indented embeddings, completions with a trailing newline) so
recordings have to reproduce each byte for byte. Deployments named `standin-500`, `standin-429` and
`standin-hang` answer 500, 429, or nothing at all; `standin-cut` breaks a stream off after its second event.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email.parser
import email.policy
import itertools
import json
import random
import threading
from typing import Any

from aiohttp import web

from tests.support.ports import free_port, wait_for_port

ACCESS_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
# fmt: off
WORDS = (
    "the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "patient", "load", "tests",
    "count", "every", "token", "that", "arrives", "on", "time", "and", "record", "how", "long", "each", "took",
)
# fmt: on
SAFE = {"filtered": False, "severity": "safe"}
CONTENT_FILTER = {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
PROMPT_FILTER = {
    "prompt_index": 0,
    "content_filter_results": {**CONTENT_FILTER, "jailbreak": {"filtered": False, "detected": False}},
}
MODELS = {"chat": "gpt-4o-2024-11-20", "completions": "gpt-35-turbo-instruct", "embeddings": "text-embedding-3-small"}


@dataclasses.dataclass(frozen=True, slots=True)
class ReceivedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


def _form(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart body's fields (text) and files (bytes), parsed by the standard library's email package."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        fields[name] = part.get_payload(decode=True) if part.get_filename() else part.get_content()
    return fields


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class StandinAOAI:
    def __init__(
        self,
        *,
        api_key: str = "standin-upstream-key",
        bearer_token: str | None = None,
        first_event_delay: float = 0.05,
        event_delay: float = 0.03,
        json_delay: float = 0.04,
        answer_words: int = 8,
        scripted: dict[str, list[str]] | None = None,
    ) -> None:
        self.api_key = api_key
        self.bearer_token = bearer_token
        self.first_event_delay = first_event_delay
        self.event_delay = event_delay
        self.json_delay = json_delay
        self.answer_words = answer_words
        # Prompt → answer pieces (one per stream event), for natural-looking sample recordings.
        self.scripted = dict(scripted or {})
        self.port = free_port()
        self.requests: list[ReceivedRequest] = []
        self.images: dict[str, bytes] = {}  # images answered as URLs, served at /private/images/{name}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Future[None] | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandinAOAI:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="standin-aoai", daemon=True)
        self._thread.start()
        ready.wait(10)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set_result, None)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = self._loop = self._stopping = None

    def __enter__(self) -> StandinAOAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        # asyncio.run cancels handlers still waiting (such as `standin-hang`) when serving stops.
        asyncio.run(self._serve(ready))

    async def _serve(self, ready: threading.Event) -> None:
        app = web.Application()
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/completions", self._completions)
        app.router.add_post("/openai/deployments/{deployment}/embeddings", self._embeddings)
        app.router.add_post("/openai/deployments/{deployment}/audio/transcriptions", self._transcription)
        app.router.add_post("/openai/deployments/{deployment}/audio/speech", self._speech)
        app.router.add_post("/openai/deployments/{deployment}/images/generations", self._images)
        app.router.add_get("/private/images/{name}", self._image_blob)
        app.router.add_post("/openai/v1/chat/completions", self._chat)
        app.router.add_post("/openai/v1/embeddings", self._embeddings)
        app.router.add_post("/openai/v1/responses", self._responses)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._loop = asyncio.get_running_loop()
        self._stopping = self._loop.create_future()
        ready.set()
        try:
            await self._stopping
        finally:
            await runner.cleanup()

    async def _admit(self, request: web.Request, *, form: bool = False) -> tuple[str, dict[str, Any]] | web.Response:
        """Record the request, check its credentials, and return its deployment and body (JSON, or with `form`
        multipart fields, files as bytes), or an error."""
        raw = await request.read()
        self.requests.append(
            ReceivedRequest(request.method, request.path, request.query_string, dict(request.headers), raw)
        )
        bearer = request.headers.get("Authorization", "")
        if request.headers.get("api-key") != self.api_key and not (
            self.bearer_token and bearer == f"Bearer {self.bearer_token}"
        ):
            return web.json_response({"error": {"code": "401", "message": ACCESS_DENIED}}, status=401)
        body = _form(request.headers.get("Content-Type", ""), raw) if form else json.loads(raw)
        deployment = request.match_info.get("deployment") or body.get("model", "")
        if deployment == "standin-500":
            await asyncio.sleep(self.json_delay)
            error = {"code": "InternalServerError", "message": "The server had an error while processing your request."}
            return web.json_response({"error": error}, status=500)
        if deployment == "standin-429":
            error = {"code": "RateLimitReached", "message": "Your requests have exceeded the token rate limit."}
            return web.json_response({"error": error}, status=429, headers={"retry-after": "7"})
        if deployment == "standin-hang":
            await asyncio.sleep(3600)
        return deployment, body

    def _headers(self, deployment: str, content_type: str) -> dict[str, str]:
        number = next(self._ids)
        return {
            "Content-Type": content_type,
            "apim-request-id": f"00000000-0000-4000-8000-{number:012d}",
            "x-request-id": f"standin-{number}",
            "x-ratelimit-remaining-requests": "99",
            "x-ratelimit-remaining-tokens": "99000",
            "x-ms-region": "Sweden Central",
            "x-ms-deployment-name": deployment,
            "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        }

    def _answer(self, prompt: str) -> list[str]:
        if prompt in self.scripted:
            return list(self.scripted[prompt])
        rng = random.Random(prompt)
        return [(" " if index else "") + rng.choice(WORDS) for index in range(self.answer_words)]

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        deployment, body = admitted
        messages = body.get("messages", [])
        prompt = " ".join(str(message.get("content", "")) for message in messages)
        pieces = self._answer(str(messages[-1].get("content", "")) if messages else "")
        ident = f"chatcmpl-standin{next(self._ids):06d}"
        usage = {
            "completion_tokens": len(pieces),
            "prompt_tokens": len(prompt.split()) + 3 * len(messages) + 3,
            "total_tokens": len(pieces) + len(prompt.split()) + 3 * len(messages) + 3,
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = self._chat_events(ident, pieces, usage if include_usage else None)
            return await self._stream(request, deployment, events)
        answer = {
            "choices": [
                {
                    "content_filter_results": CONTENT_FILTER,
                    "finish_reason": "stop",
                    "index": 0,
                    "logprobs": None,
                    "message": {"content": "".join(pieces), "refusal": None, "role": "assistant"},
                }
            ],
            "created": 1732000000,
            "id": ident,
            "model": MODELS["chat"],
            "object": "chat.completion",
            "prompt_filter_results": [PROMPT_FILTER],
            "system_fingerprint": "fp_standin",
            "usage": usage,
        }
        await asyncio.sleep(self.json_delay)
        return web.Response(body=_compact(answer), headers=self._headers(deployment, "application/json"))

    def _chat_events(self, ident: str, pieces: list[str], usage: dict[str, int] | None) -> list[bytes]:
        """AOAI's sequence: prompt filter results, role, content deltas, finish, optional usage, [DONE]."""
        chunk = {"created": 1732000000, "id": ident, "model": MODELS["chat"], "object": "chat.completion.chunk"}
        chunk["system_fingerprint"] = "fp_standin"

        def choice(delta: dict[str, Any], finish: str | None, filters: dict[str, Any]) -> dict[str, Any]:
            return {"content_filter_results": filters, "delta": delta, "finish_reason": finish, "index": 0}

        events = [
            {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": [PROMPT_FILTER]}
        ]
        events.append({"choices": [choice({"content": "", "refusal": None, "role": "assistant"}, None, {})], **chunk})
        events += [{"choices": [choice({"content": piece}, None, CONTENT_FILTER)], **chunk} for piece in pieces]
        events.append({"choices": [choice({}, "stop", {})], **chunk})
        if usage is not None:
            events.append({"choices": [], **chunk, "usage": usage})
        return [b"data: " + _compact(event) + b"\n\n" for event in events] + [b"data: [DONE]\n\n"]

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        deployment, body = admitted
        prompt = body.get("prompt", "")
        pieces = self._answer(str(prompt))
        ident = f"cmpl-standin{next(self._ids):06d}"
        base = {"id": ident, "object": "text_completion", "created": 1732000000, "model": MODELS["completions"]}
        if body.get("stream"):
            events = [
                {**base, "choices": [{"text": piece, "index": 0, "logprobs": None, "finish_reason": None}]}
                for piece in pieces
            ]
            events.append({**base, "choices": [{"text": "", "index": 0, "logprobs": None, "finish_reason": "stop"}]})
            framed = [b"data: " + _compact(event) + b"\n\n" for event in events] + [b"data: [DONE]\n\n"]
            return await self._stream(request, deployment, framed)
        usage = {"prompt_tokens": len(str(prompt).split()), "completion_tokens": len(pieces)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        answer = {
            **base,
            "choices": [{"text": "".join(pieces), "index": 0, "logprobs": None, "finish_reason": "stop"}],
            "usage": usage,
        }
        await asyncio.sleep(self.json_delay)
        # A trailing newline: no JSON style reproduces it, so recordings must keep this body as text.
        data = json.dumps(answer).encode() + b"\n"
        return web.Response(body=data, headers=self._headers(deployment, "application/json"))

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        deployment, body = admitted
        inputs = body.get("input", "")
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        dimensions = int(body.get("dimensions", 1536))
        data = []
        for index, text in enumerate(inputs):
            rng = random.Random(str(text))
            vector = [round(rng.gauss(0, 0.04), 10) for _ in range(dimensions)]
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(len(str(text).split()) for text in inputs)
        answer = {
            "object": "list",
            "data": data,
            "model": MODELS["embeddings"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        await asyncio.sleep(self.json_delay)
        return web.Response(
            body=json.dumps(answer, indent=2).encode(), headers=self._headers(deployment, "application/json")
        )

    async def _transcription(self, request: web.Request) -> web.StreamResponse:
        """A transcript as many words as the file has kilobytes (so different files answer differently)."""
        admitted = await self._admit(request, form=True)
        if isinstance(admitted, web.Response):
            return admitted
        deployment, body = admitted
        size = len(body["file"])
        rng = random.Random(size)
        text = " ".join(rng.choice(WORDS) for _ in range(max(1, size // 1024)))
        await asyncio.sleep(self.json_delay)
        return web.Response(body=_compact({"text": text}), headers=self._headers(deployment, "application/json"))

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        """Audio-like bytes, 1,000 per character of input: what matters is that they are binary and exact."""
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        deployment, body = admitted
        data = random.Random(body["input"]).randbytes(1000 * len(body["input"]))
        await asyncio.sleep(self.json_delay)
        return web.Response(body=data, headers=self._headers(deployment, "audio/mpeg"))

    async def _images(self, request: web.Request) -> web.StreamResponse:
        """A b64_json "png" (PNG's signature, then 12 KB of noise) and a revised prompt."""
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        deployment, body = admitted
        image = b"\x89PNG\r\n\x1a\n" + random.Random(body["prompt"]).randbytes(12_000)
        item: dict[str, Any] = {"revised_prompt": f"Revised: {body['prompt']}"}
        if body.get("response_format", "url") == "url":  # a signed blob link, as AOAI's are
            name = f"{next(self._ids)}.png"
            self.images[name] = image
            item["url"] = f"{self.url}/private/images/{name}?se=2099-01-01&sig=standin"
        else:
            item["b64_json"] = base64.b64encode(image).decode()
        await asyncio.sleep(self.json_delay)
        answer = {"created": 1_700_000_000, "data": [item]}
        return web.Response(body=_compact(answer), headers=self._headers(deployment, "application/json"))

    async def _image_blob(self, request: web.Request) -> web.StreamResponse:
        image = self.images.get(request.match_info["name"])
        if image is None:
            return web.Response(status=404)
        return web.Response(body=image, content_type="image/png")

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        """The Responses API: a message of answer words, whole or as its typed, numbered events."""
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        deployment, body = admitted
        prompt = body.get("input", "")
        pieces = self._answer(prompt if isinstance(prompt, str) else json.dumps(prompt))
        number = next(self._ids)
        text = "".join(pieces)
        message = {"id": f"msg_standin{number:06d}", "type": "message", "status": "completed", "role": "assistant"}
        part = {"type": "output_text", "annotations": [], "text": text}
        usage = {"input_tokens": len(str(prompt).split()) + 7, "output_tokens": len(pieces)}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        answer = {
            "id": f"resp_standin{number:06d}",
            "object": "response",
            "created_at": 1732000000,
            "status": "completed",
            "model": MODELS["chat"],
            "output": [{**message, "content": [part]}],
            "usage": {**usage, "input_tokens_details": {"cached_tokens": 0}},
        }
        if not body.get("stream"):
            await asyncio.sleep(self.json_delay)
            return web.Response(body=_compact(answer), headers=self._headers(deployment, "application/json"))
        where = {"item_id": message["id"], "output_index": 0, "content_index": 0}
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": {**answer, "status": "in_progress", "output": []}},
            {"type": "response.output_item.added", "output_index": 0, "item": {**message, "content": []}},
            {"type": "response.content_part.added", **where, "part": {**part, "text": ""}},
            *({"type": "response.output_text.delta", **where, "delta": piece} for piece in pieces),
            {"type": "response.output_text.done", **where, "text": text},
            {"type": "response.content_part.done", **where, "part": part},
            {"type": "response.output_item.done", "output_index": 0, "item": answer["output"][0]},
            {"type": "response.completed", "response": answer},
        ]
        framed = [
            f"event: {event['type']}\n".encode() + b"data: " + _compact({**event, "sequence_number": n}) + b"\n\n"
            for n, event in enumerate(events)
        ]
        return await self._stream(request, deployment, framed)

    async def _stream(self, request: web.Request, deployment: str, events: list[bytes]) -> web.StreamResponse:
        response = web.StreamResponse(headers=self._headers(deployment, "text/event-stream; charset=utf-8"))
        await response.prepare(request)
        await asyncio.sleep(self.first_event_delay)
        for index, event in enumerate(events):
            if index:
                await asyncio.sleep(self.event_delay)
            if index == 2 and deployment == "standin-cut" and request.transport is not None:
                request.transport.close()  # the chunked body never ends: the reader sees a payload error
                return response
            await response.write(event)
        await response.write_eof()
        return response
