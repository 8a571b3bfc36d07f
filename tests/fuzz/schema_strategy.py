"""Hypothesis strategies for JSON values valid for an OpenAPI schema of ../shared/specs.

hypothesis-jsonschema does not run on current Hypothesis, and the request schemas use only a small part of
JSON Schema: `$ref`, `allOf`, `oneOf`/`anyOf`, `enum`, `type` (with the "null" that tests.support.spec adds for
`nullable`), `properties`/`required`, `items`, and bounds. Values are kept small (short strings, at most three
array items, nesting cut at a fixed depth) so that thousands of them are cheap to send; bounds the generator
does not know (`pattern` on a string, say) may yield invalid values, which the fuzz suite tolerates: it checks
the server's answers, not the generator's accuracy.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.support import spec

MAX_DEPTH = 6
SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def from_schema(pointer: str, document: str) -> st.SearchStrategy[Any]:
    """Values of the schema at `pointer` in `document` (spec.GA or spec.V1)."""
    return _Builder(document).build(spec.resolve(pointer, document), 0)


class _Builder:
    def __init__(self, document: str) -> None:
        self.document = document

    def build(self, node: Any, depth: int) -> st.SearchStrategy[Any]:
        if not isinstance(node, dict):
            return ANY_JSON
        if "$ref" in node:
            return st.deferred(lambda: self.build(spec.resolve(node["$ref"], self.document), depth + 1))
        if depth > MAX_DEPTH:
            return st.none() if _allows_null(node) else st.just({}) if node.get("type") == "object" else SCALARS
        if "allOf" in node:
            return self._all_of(node, depth)
        for key in ("oneOf", "anyOf"):
            if key in node:
                return st.one_of([self.build(option, depth + 1) for option in node[key]])
        if "enum" in node:
            return st.sampled_from(node["enum"])
        if "const" in node:
            return st.just(node["const"])
        kinds = node.get("type")
        if isinstance(kinds, list):
            return st.one_of([self.build({**node, "type": kind}, depth) for kind in kinds])
        return self._typed(kinds, node, depth)

    def _typed(self, kind: Any, node: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if kind == "object" or (kind is None and "properties" in node):
            return self._object(node, depth)
        if kind == "array":
            low = node.get("minItems", 0)
            high = max(low, min(node.get("maxItems", 3), 3))
            return st.lists(self.build(node.get("items", {}), depth + 1), min_size=low, max_size=high)
        if kind == "string":
            low = node.get("minLength", 0)
            return st.text(min_size=low, max_size=max(low, min(node.get("maxLength", 16), 16)))
        if kind == "integer":
            return st.integers(node.get("minimum", -(2**31)), node.get("maximum", 2**31))
        if kind == "number":
            return st.floats(node.get("minimum"), node.get("maximum"), allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return ANY_JSON

    def _object(self, node: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        properties = node.get("properties", {})
        required = set(node.get("required", ()))
        return st.fixed_dictionaries(
            {name: self.build(schema, depth + 1) for name, schema in properties.items() if name in required},
            optional={
                name: self.build(schema, depth + 1) for name, schema in properties.items() if name not in required
            },
        )

    def _all_of(self, node: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        merged: dict[str, Any] = {key: value for key, value in node.items() if key != "allOf"}
        properties = dict(merged.get("properties", {}))
        required = list(merged.get("required", ()))
        for part in node["allOf"]:
            part = spec.resolve(part["$ref"], self.document) if "$ref" in part else part
            if "allOf" in part:
                part = {"properties": {}, **part}
            properties.update(part.get("properties", {}))
            required += part.get("required", ())
            merged.setdefault("type", part.get("type"))
        return self._object({**merged, "properties": properties, "required": required}, depth)


def _allows_null(node: dict[str, Any]) -> bool:
    kinds = node.get("type")
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds)
