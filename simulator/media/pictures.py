"""Real pictures of the requested size and format; the same prompt gives the same picture.

A diagonal blend between two colours, with a disc and a band on top: small once compressed (flat areas) and
plainly a picture. Pillow writes png, jpeg and webp; a transparent background (gpt-image-1's
`background: transparent`) keeps an alpha channel. Drawing and compressing a 1024x1024 image costs tens of
milliseconds of CPU, far more than anything else a request does, so a prompt picks one of `VARIANTS` designs
(by its digest) and each design is drawn once per size and format: a load test sending a new prompt every
time then costs a cache lookup, not an encoder run.
"""

from __future__ import annotations

import hashlib
import io

from simulator.media.cache import EncodedCache

VARIANTS = 8
FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


_CACHE = EncodedCache(64)


def cached(prompt: str, width: int, height: int, output_format: str = "png", transparent: bool = False) -> bytes | None:
    """The encoded image if it was drawn already (cheap: call it on the event loop)."""
    return _CACHE.get(_key(prompt, width, height, output_format, transparent))


def render(prompt: str, width: int, height: int, output_format: str = "png", transparent: bool = False) -> bytes:
    """The encoded image for `prompt` (`output_format` one of FORMATS), drawn if need be (slow: use a thread)."""
    key = _key(prompt, width, height, output_format, transparent)
    return _CACHE.make(key, lambda: _draw(*key))


def _key(
    prompt: str, width: int, height: int, output_format: str, transparent: bool
) -> tuple[int, int, int, str, bool]:
    variant = hashlib.sha256(prompt.encode()).digest()[0] % VARIANTS
    return variant, width, height, output_format, transparent and output_format != "jpeg"


def _draw(variant: int, width: int, height: int, output_format: str, transparent: bool) -> bytes:
    from PIL import Image, ImageDraw

    seed = hashlib.sha256(f"design {variant}".encode()).digest()
    first, second, accent = tuple(seed[0:3]), tuple(seed[3:6]), tuple(seed[6:9])
    mask = Image.linear_gradient("L").rotate(45, expand=False).resize((width, height))
    image = Image.composite(Image.new("RGB", (width, height), first), Image.new("RGB", (width, height), second), mask)
    if transparent:
        image.putalpha(mask)
    draw = ImageDraw.Draw(image)
    radius = min(width, height) // 5
    centre = (width * (64 + seed[9] % 128) // 256, height * (64 + seed[10] % 128) // 256)
    draw.ellipse([centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius], fill=accent)
    band = height * (seed[11] % 200 + 28) // 256
    draw.rectangle([0, band, width, band + height // 24], fill=tuple(255 - value for value in accent))
    output = io.BytesIO()
    image.save(output, format=FORMATS[output_format], **({"quality": 85} if output_format != "png" else {}))
    return output.getvalue()
