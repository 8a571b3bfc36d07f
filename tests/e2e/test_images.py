"""Image generations and edits through the official openai SDK, over a socket; the images decode with Pillow."""

from __future__ import annotations

import base64
import io
import json

import httpx
import openai
import pytest
from PIL import Image

from tests.support import spec
from tests.support.media import png

pytestmark = pytest.mark.skipif(not spec.available(), reason="needs ../shared/specs")


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_dall_e_3_url_resolves_to_a_png_of_the_size(azure, server) -> None:
    answer = azure.images.with_raw_response.generate(
        model="dalle", prompt="a corgi in a field", size="1792x1024", quality="hd", style="natural"
    )
    body = json.loads(answer.http_response.text)
    spec.validate(body, "generateImagesResponse")
    item = body["data"][0]
    assert item["revised_prompt"]
    assert item["content_filter_results"]["violence"] == {"filtered": False, "severity": "safe"}
    assert item["url"].startswith(f"{server.url}/++/images/")
    fetched = httpx.get(item["url"])  # no key, as with AOAI's signed blob URLs
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    image = _image(fetched.content)
    assert image.format == "PNG" and image.size == (1792, 1024)
    guessed = item["url"][:-10] + "AAAAAA.png"
    assert httpx.get(guessed).status_code == 404


def test_dall_e_3_b64_json(v1) -> None:
    answer = v1.images.generate(model="dalle", prompt="a lighthouse", response_format="b64_json")
    assert answer.data[0].url is None
    assert _image(base64.b64decode(answer.data[0].b64_json)).size == (1024, 1024)
    with pytest.raises(openai.BadRequestError) as raised:
        v1.images.generate(model="dalle", prompt="two lighthouses", n=2)
    assert raised.value.body["param"] == "n"


@pytest.mark.parametrize("output_format", ["png", "jpeg", "webp"])
def test_gpt_image_1_answers_base64_in_the_format_asked(azure, output_format) -> None:
    raw = azure.images.with_raw_response.generate(
        model="painter", prompt="a bowl of fruit", size="1536x1024", output_format=output_format, n=2, quality="low"
    )
    spec.validate(json.loads(raw.http_response.text), "generateImagesResponse")
    answer = raw.parse()
    assert len(answer.data) == 2 and all(item.url is None for item in answer.data)
    images = [_image(base64.b64decode(item.b64_json)) for item in answer.data]
    assert {image.format for image in images} == {output_format.upper()} and images[0].size == (1536, 1024)
    assert answer.usage.output_tokens == 2 * 408


def test_transparent_background_keeps_alpha(azure) -> None:
    answer = azure.images.generate(model="painter", prompt="a sticker", background="transparent", size="1024x1024")
    assert _image(base64.b64decode(answer.data[0].b64_json)).mode == "RGBA"


def test_edit_with_image_and_mask(azure) -> None:
    raw = azure.images.with_raw_response.edit(
        model="painter", image=("in.png", png(512, 512)), mask=("mask.png", png(512, 512)), prompt="add a hat"
    )
    spec.validate(json.loads(raw.http_response.text), "generateImagesResponse")
    answer = raw.parse()
    assert _image(base64.b64decode(answer.data[0].b64_json)).size == (512, 512)
    with pytest.raises(openai.BadRequestError) as raised:
        azure.images.edit(model="painter", image=("in.png", png(512, 512)), mask=("m.png", png(256, 256)), prompt="x")
    assert raised.value.body["param"] == "mask"
    spec.validate_error(raised.value.response.json())
    with pytest.raises(openai.BadRequestError) as raised:
        azure.images.edit(model="painter", image=("in.png", b"not an image"), prompt="x")
    assert raised.value.body["param"] == "image"


def test_dall_e_3_does_not_edit(azure) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        azure.images.edit(model="dalle", image=("in.png", png(64, 64)), prompt="x")
    assert raised.value.code == "OperationNotSupported"
    spec.validate_error(raised.value.response.json())
