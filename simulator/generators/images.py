"""Image generations and edits: real pictures of the requested size and format (`simulator.media.pictures`).

dall-e-3 answers one image as a URL by default (or `b64_json`) with a `revised_prompt`; the gpt-image-1 family
answers base64 only, as the service does, with token usage, and also edits uploaded images. Every image
carries AOAI's content-filter results (all categories safe).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import random
import time
from typing import Any

from simulator import errors, tokens
from simulator.context import OpenAIRequest, Upload
from simulator.generators import fields
from simulator.media import pictures
from simulator.media.image_urls import ImageUrls
from simulator.models import Operation
from simulator.params import missing_parameter
from simulator.replies import JsonReply, Usage

DALL_E_SIZES = ("1024x1024", "1792x1024", "1024x1792")
GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
# gpt-image-1's output tokens per image by quality, for a square and for an oblong image.
GPT_IMAGE_TOKENS = {"low": (272, 408), "medium": (1056, 1584), "high": (4160, 6240)}
SAFE = {"filtered": False, "severity": "safe"}
NOT_DETECTED = {"filtered": False, "detected": False}


@dataclasses.dataclass(frozen=True, slots=True)
class ImageParams:
    prompt: str
    n: int
    size: tuple[int, int]
    quality: str
    output_format: str
    transparent: bool
    as_url: bool
    gpt_image: bool


class ImageGenerator:
    def __init__(self, operation: Operation, urls: ImageUrls, clock: Any = time.time) -> None:
        self.operation = operation
        self.urls = urls
        self.clock = clock

    def parse(self, request: OpenAIRequest) -> ImageParams:
        body = request.body
        gpt_image = request.model.name.lower().startswith("gpt-image")
        prompt = fields.text(body, "prompt", required=True, maximum=32_000 if gpt_image else 4_000) or ""
        n = fields.integer(body, "n", 1, 10 if gpt_image else 1, 1)
        if gpt_image:
            size = fields.choice(body, "size", GPT_IMAGE_SIZES, "auto")
            quality = fields.choice(body, "quality", ("low", "medium", "high", "auto"), "auto")
            output_format = fields.choice(body, "output_format", tuple(pictures.FORMATS), "png")
            background = fields.choice(body, "background", ("transparent", "opaque", "auto"), "auto")
            if background == "transparent" and output_format == "jpeg":
                raise errors.invalid_request(
                    "Transparent background is not supported for the jpeg output format.", "background", "invalid_value"
                )
            as_url = False  # the gpt-image-1 family answers b64_json only
        else:
            size = fields.choice(body, "size", DALL_E_SIZES, "1024x1024")
            quality = fields.choice(body, "quality", ("standard", "hd"), "standard")
            fields.choice(body, "style", ("vivid", "natural"), "vivid")
            output_format, background = "png", "opaque"
            as_url = fields.choice(body, "response_format", ("url", "b64_json"), "url") == "url"
        if self.operation is Operation.IMAGE_EDITS:
            source = _source_image(request)
            if size == "auto":
                size = f"{source[0]}x{source[1]}"
        width, height = (1024, 1024) if size == "auto" else map(int, size.split("x"))
        request.images = n
        request.prompt_tokens = tokens.count_text(prompt, request.model.encoding)
        return ImageParams(
            prompt, n, (width, height), quality, output_format, background == "transparent", as_url, gpt_image
        )

    async def generate(self, request: OpenAIRequest, params: ImageParams, rng: random.Random) -> JsonReply:
        width, height = params.size
        content_type = pictures.CONTENT_TYPES[params.output_format]
        data = []
        for index in range(params.n):
            prompt = params.prompt if index == 0 else f"{params.prompt}\n#{index}"
            shape = (prompt, width, height, params.output_format, params.transparent)
            image = pictures.cached(*shape) or await asyncio.to_thread(pictures.render, *shape)
            item: dict[str, Any]
            if params.as_url:
                item = {"url": await self.urls.publish(image, content_type, params.output_format, request.headers)}
            else:
                item = {"b64_json": base64.b64encode(image).decode()}
            if not params.gpt_image:
                item["revised_prompt"] = _revised(params.prompt)
            item["content_filter_results"] = {name: SAFE for name in ("hate", "self_harm", "sexual", "violence")}
            item["prompt_filter_results"] = {
                **item["content_filter_results"],
                "jailbreak": NOT_DETECTED,
                "profanity": NOT_DETECTED,
            }
            data.append(item)
        body: dict[str, Any] = {"created": int(self.clock()), "data": data}
        output_tokens = 0
        if params.gpt_image:
            quality = "medium" if params.quality == "auto" else params.quality
            output_tokens = GPT_IMAGE_TOKENS[quality][width != height] * params.n
            prompt_tokens = request.prompt_tokens or 0
            body.update(
                background="transparent" if params.transparent else "opaque",
                output_format=params.output_format,
                quality=quality,
                size=f"{width}x{height}",
                usage={
                    "input_tokens": prompt_tokens,
                    "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": 0},
                    "output_tokens": output_tokens,
                    "total_tokens": prompt_tokens + output_tokens,
                },
            )
        return JsonReply(body, usage=Usage(request.prompt_tokens or 0, output_tokens))


def _revised(prompt: str) -> str:
    """dall-e-3 rewrites prompts into a fuller description; this one says so plainly."""
    return f"A detailed, high-quality image of: {prompt.strip()}"


def _source_image(request: OpenAIRequest) -> tuple[int, int]:
    """The size of the first image to edit; a 400 when there is none, or an image or mask Pillow cannot read."""
    images = request.files.get("image")
    if not images:
        raise missing_parameter("image")
    size = _image_size(images[0], "image")
    for mask in request.files.get("mask", ()):
        if _image_size(mask, "mask") != size:
            raise errors.invalid_request("The mask must be the same size as the image.", "mask", "invalid_value")
    for extra in images[1:]:
        _image_size(extra, "image")
    return size


def _image_size(upload: Upload, param: str) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            if image.format not in ("PNG", "JPEG", "WEBP"):
                raise UnidentifiedImageError
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        raise errors.invalid_request(
            f"Invalid file for '{param}': expected a png, jpeg or webp image.", param, "invalid_image_format"
        ) from None
