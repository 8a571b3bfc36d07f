"""Reading the document out of an analyze request, and the result URL a client polls."""

from __future__ import annotations

import base64
import binascii

from simulator import extend


def document_of(request: extend.Request) -> tuple[bytes, str]:
    """The document's bytes and type: the JSON request's `base64Source` (or `urlSource`, which the simulator
    does not fetch: its text is the URL), or the body itself."""
    content_type = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip().lower()
    if content_type != "application/json":
        if not request.body:
            raise invalid("The request body is empty.")
        return request.body, content_type
    body = request.json()
    if isinstance(body, dict) and isinstance(body.get("base64Source"), str):
        try:
            return base64.b64decode(body["base64Source"], validate=True), "application/octet-stream"
        except binascii.Error:
            raise invalid("base64Source is not valid base64.") from None
    if isinstance(body, dict) and isinstance(body.get("urlSource"), str):
        return body["urlSource"].encode(), "text/plain"
    raise invalid("Either urlSource or base64Source must be specified.")


def invalid(message: str) -> extend.ApiError:
    return extend.ApiError(
        400, "InvalidRequest", "Invalid request.", extra={"innererror": {"code": "InvalidContent", "message": message}}
    )


def result_url(request: extend.Request, result_id: str, query: str) -> str:
    """`…/documentModels/{modelId}/analyzeResults/{resultId}?…` on the simulator, under the request's prefix."""
    prefix = request.path.split("/documentModels/")[0]
    url = f"{request.base_url}{prefix}/documentModels/{request.path_params['modelId']}/analyzeResults/{result_id}"
    return f"{url}?{query}" if query else url
