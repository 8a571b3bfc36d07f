"""Real pictures of the requested size and format, drawn from the prompt so the same prompt gives the same image.

A diagonal blend between two colours taken from the prompt's digest, with a disc and a band on top: cheap to
draw at any size and small once compressed (flat areas), yet plainly different per prompt. Pillow writes png,
jpeg and webp; a transparent background (gpt-image-1's `background: transparent`) keeps an alpha channel.
"""

from __future__ import annotations

import functools
import hashlib
import io

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@functools.lru_cache(maxsize=64)
def render(prompt: str, width: int, height: int, output_format: str = "png", transparent: bool = False) -> bytes:
    """The encoded image (`output_format` one of FORMATS)."""
    from PIL import Image, ImageDraw

    seed = hashlib.sha256(prompt.encode()).digest()
    first, second, accent = tuple(seed[0:3]), tuple(seed[3:6]), tuple(seed[6:9])
    mask = Image.linear_gradient("L").rotate(45, expand=False).resize((width, height))
    image = Image.composite(Image.new("RGB", (width, height), first), Image.new("RGB", (width, height), second), mask)
    if transparent and output_format != "jpeg":
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
