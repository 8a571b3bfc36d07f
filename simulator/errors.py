"""Errors shaped as Azure OpenAI shapes them: `{"error": {"code": …, "message": …, "param": …, "type": …}}`.

Anything the simulator refuses raises `OpenAIError`; the dispatcher turns it into a response, so no
handler builds error bodies by hand and no failure escapes as a bare 500 or a stack trace.
"""

from __future__ import annotations

from typing import Any

ACCESS_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment within the last "
    "5 minutes, please wait a moment and try again."
)


class OpenAIError(Exception):
    """An answer that is an error: status, AOAI body fields and any extra headers."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        *,
        param: str | None = None,
        type: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        front_door: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.type = type
        self.headers = headers or {}
        self.extra = extra or {}
        self.front_door = front_door

    def body(self) -> dict[str, Any]:
        """The model service's errors carry all four fields, null where the error has none (`"param": null,
        "code": null` on an unparsable body): clients read `error["param"]` without guarding each key. The
        front door that checks keys, paths, deployments and rate limits before the model sees a request answers
        with `code` and `message` only (DESIGN.md quotes its 401, 404 and 429 bodies), so those errors do too."""
        if self.front_door:
            error: dict[str, Any] = {"code": self.code, "message": self.message}
        else:
            error = {"code": self.code, "message": self.message, "param": self.param, "type": self.type}
        error.update(self.extra)
        return {"error": error}


def unauthorized() -> OpenAIError:
    return OpenAIError(401, "401", ACCESS_DENIED, front_door=True)


def resource_not_found() -> OpenAIError:
    return OpenAIError(404, "404", "Resource not found", front_door=True)


def deployment_not_found() -> OpenAIError:
    return OpenAIError(404, "DeploymentNotFound", DEPLOYMENT_NOT_FOUND, front_door=True)


def method_not_allowed(method: str) -> OpenAIError:
    return OpenAIError(405, "405", f"The HTTP method '{method}' is not supported for this resource.")


def missing_api_version() -> OpenAIError:
    return OpenAIError(
        400, "BadRequest", "Missing required query parameter 'api-version'. Add ?api-version=2024-10-21 to the URL."
    )


def unsupported_api_version() -> OpenAIError:
    return OpenAIError(400, "BadRequest", "API version not supported")


def payload_too_large(limit: int) -> OpenAIError:
    return OpenAIError(413, "RequestEntityTooLarge", f"The request body is larger than the limit of {limit} bytes.")


def request_timeout(seconds: float) -> OpenAIError:
    return OpenAIError(408, "RequestTimeout", f"The request was not received in full within {seconds:g} seconds.")


def malformed_request() -> OpenAIError:
    return OpenAIError(400, "BadRequest", "The request is not valid HTTP/1.1.")


def headers_too_large(limit: int) -> OpenAIError:
    return OpenAIError(
        431, "RequestHeaderFieldsTooLarge", f"The request line and headers are larger than the limit of {limit} bytes."
    )


def invalid_request(message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    """A request the model service rejects: OpenAI's validation shape, with `type` and `param`."""
    return OpenAIError(400, code, message, param=param, type="invalid_request_error")


def invalid_json() -> OpenAIError:
    return invalid_request(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
        "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
    )


def unsupported_parameter(name: str, instead: str) -> OpenAIError:
    return invalid_request(
        f"Unsupported parameter: '{name}' is not supported with this model. Use '{instead}' instead.",
        param=name,
        code="unsupported_parameter",
    )


def operation_not_supported(noun: str, model: str) -> OpenAIError:
    return OpenAIError(
        400,
        "OperationNotSupported",
        f"The {noun} operation does not work with the specified model, {model}. Please choose different model "
        "and try again. You can learn more about which models can be used with each operation here: "
        "https://go.microsoft.com/fwlink/?linkid=2197993.",
    )


def context_length_exceeded(limit: int, requested: int, prompt: int, completion: int, param: str) -> OpenAIError:
    return invalid_request(
        f"This model's maximum context length is {limit} tokens. However, you requested {requested} tokens "
        f"({prompt} in the messages, {completion} in the completion). Please reduce the length of the messages "
        "or completion.",
        param=param,
        code="context_length_exceeded",
    )


def internal_error() -> OpenAIError:
    return OpenAIError(
        500, "InternalServerError", "The server had an error while processing your request. Sorry about that!"
    )
