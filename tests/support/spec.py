"""Validate bodies against the official AOAI OpenAPI descriptions in ../shared/specs.

OpenAPI 3.0 schemas are not JSON Schema: `nullable: true` becomes a type union with "null" here.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs"
GA = "aoai-inference-2024-10-21.json"
V1 = "aoai-v1-generated.json"


def _translate(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _translate(value) for key, value in node.items()}
        if node.pop("nullable", False):
            if "type" in node and not any(key in node for key in ("allOf", "anyOf", "oneOf", "$ref")):
                kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
                node["type"] = [*kinds, "null"]
                if "enum" in node:
                    node["enum"] = [*node["enum"], None]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_translate(item) for item in node]
    return node


@functools.cache
def _document(name: str) -> dict[str, Any]:
    return _translate(json.loads((SPECS / name).read_text()))


def available() -> bool:
    return (SPECS / GA).is_file() and (SPECS / V1).is_file()


def validate(body: Any, schema_name: str, spec: str = GA) -> None:
    """Raise `jsonschema.ValidationError` unless `body` matches `#/components/schemas/<schema_name>`."""
    document = _document(spec)
    uri = f"urn:aoai:{spec}"
    registry = Registry().with_resource(uri, Resource.from_contents(document, default_specification=DRAFT202012))
    schema = {"$ref": f"{uri}#/components/schemas/{schema_name}"}
    jsonschema.Draft202012Validator(schema, registry=registry).validate(copy.deepcopy(body))


def response_event_schema(event_type: str) -> str:
    """The v1 spec's schema for a Responses API stream event of this `type` (from the discriminator)."""
    mapping = _document(V1)["components"]["schemas"]["OpenAI.ResponseStreamEvent"]["discriminator"]["mapping"]
    return mapping[event_type].rsplit("/", 1)[-1]


def validate_response_event(event: dict[str, Any]) -> None:
    """Validate one streamed Responses event against the base event schema and the one for its type."""
    validate(event, "OpenAI.ResponseStreamEvent", V1)
    validate(event, response_event_schema(event["type"]), V1)


@functools.cache
def validator(pointer: str, spec: str = GA) -> jsonschema.Draft202012Validator:
    """A reusable validator for the schema at `pointer` (`#/paths/...` or `#/components/schemas/...`) of `spec`,
    for callers that validate thousands of bodies (the fuzz suite)."""
    uri = f"urn:aoai:{spec}"
    registry = Registry().with_resource(uri, Resource.from_contents(_document(spec), default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"{uri}{pointer}"}, registry=registry)


def resolve(pointer: str, spec: str = GA) -> Any:
    """The (translated) node at a JSON pointer of `spec`."""
    node: Any = _document(spec)
    for token in filter(None, pointer.lstrip("#").split("/")):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


ERROR_FIELDS = ("code", "message", "param", "type")
FRONT_DOOR_CODES = frozenset({"401", "404", "DeploymentNotFound", "RateLimitReached"})


def check_error_keys(error: dict[str, Any]) -> None:
    """The front door's own answers (bad key, path, deployment, rate limit) carry exactly code and message, as
    AOAI's gateway sends them; the model service's carry all four fields, null where it has none."""
    if error.get("code") in FRONT_DOOR_CODES:
        assert set(error) == {"code", "message"}, f"a front-door error carries only code and message: {error}"
        return
    missing = [field for field in ERROR_FIELDS if field not in error]
    assert not missing, f"error body lacks {missing}: {error}"


def validate_error(body: Any) -> None:
    """An error body as the service sends it: all four fields present (null where it has none), and the fields
    that have values valid for the GA spec's `errorResponse` (the spec types them as plain strings, without
    null) and, when `type` is null, the v1 spec's `AzureErrorResponse` (whose `type` enum is ["error"] while
    the service sends "invalid_request_error")."""
    error = body["error"]
    check_error_keys(error)
    if error["code"] in FRONT_DOOR_CODES:
        validate(body, "errorResponse")
        return
    assert isinstance(error["message"], str) and error["message"]
    present = {"error": {key: value for key, value in error.items() if value is not None}}
    validate(present, "errorResponse")
    if error["type"] is None:
        validate(present, "AzureErrorResponse", V1)
