from __future__ import annotations

import datetime
import json
import random
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest

from simulator.generators.json_schema import (
    Limits,
    SchemaError,
    generate_json,
    generate_json_passing,
    generate_json_within,
    generate_value,
    pattern_string,
    strict_violation,
)
from simulator.tokens import count_text
from tests.generators.schemas import CORPUS, LINKED_LIST, ORDER, UI_COMPONENT

SEEDS = range(150)
EXTRA_FORMATS = jsonschema.FormatChecker(formats=())  # formats jsonschema checks only with optional packages


@EXTRA_FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.datetime.fromisoformat(value).tzinfo is not None


@EXTRA_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlparse(value).scheme and urlparse(value).netloc)


@EXTRA_FORMATS.checks("hostname")
def _is_hostname(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", value) is not None


def strict_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A validator of the schema's draft that also checks every format the generator writes."""
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = {**cls.FORMAT_CHECKER.checkers, **EXTRA_FORMATS.checkers}
    return cls(schema, format_checker=checker)


def validate(instance: Any, schema: dict[str, Any]) -> None:
    strict_validator(schema).validate(instance)


def nodes(value: Any, depth: int = 0) -> Iterator[tuple[Any, int]]:
    yield value, depth
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from nodes(child, depth + 1)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_instance_is_valid_compact_json(name: str) -> None:
    schema = CORPUS[name]
    validator = strict_validator(schema)
    for seed in SEEDS:
        text = generate_json(schema, random.Random(seed))
        instance = json.loads(text)
        validator.validate(instance)
        assert text == json.dumps(instance, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_minimal_instances_are_valid_and_no_larger(name: str) -> None:
    schema = CORPUS[name]
    validator = strict_validator(schema)
    for seed in range(40):
        validator.validate(json.loads(generate_json(schema, random.Random(seed), Limits.minimal())))
    usual = sum(len(generate_json(schema, random.Random(seed))) for seed in range(40))
    smallest = sum(len(generate_json(schema, random.Random(seed), Limits.minimal())) for seed in range(40))
    assert smallest <= usual


def test_same_seed_same_text_and_seeds_differ() -> None:
    assert generate_json(ORDER, random.Random(7)) == generate_json(ORDER, random.Random(7))
    assert len({generate_json(ORDER, random.Random(seed)) for seed in range(20)}) == 20


def test_optional_properties_nulls_and_enum_values_all_occur() -> None:
    people = [generate_value(CORPUS["extract_people"], random.Random(seed)) for seed in SEEDS]
    assert {"source" in value for value in people} == {True, False}
    assert {value["source"] for value in people if "source" in value} == {"email", "chat", "document"}
    orders = [generate_value(ORDER, random.Random(seed)) for seed in SEEDS]
    assert {order["shipping_address"] is None for order in orders} == {True, False}
    assert {order["notes"] is None for order in orders} == {True, False}
    assert {order["status"] for order in orders} == {"pending", "paid", "shipped", "cancelled"}
    assert max(len(order["items"]) for order in orders) > min(len(order["items"]) for order in orders) >= 1


def test_recursion_is_bounded_and_outputs_stay_small() -> None:
    limits = Limits()
    for schema in (UI_COMPONENT, LINKED_LIST):
        depths = [max(d for _, d in nodes(generate_value(schema, random.Random(seed)))) for seed in SEEDS]
        # Each level of the schema is two JSON levels (an object, then its array or property).
        assert max(depths) <= 2 * (limits.max_depth + 2)
        assert max(depths) > 2  # recursion does happen
    assert max(len(generate_json(schema, random.Random(seed))) for schema in CORPUS.values() for seed in SEEDS) < 8000


def test_strings_are_lorem_words() -> None:
    weather = [generate_value(CORPUS["get_current_weather"], random.Random(seed)) for seed in range(30)]
    assert all(re.fullmatch(r"[A-Z][a-z]*( ,?[a-z]+)*[.,]?", value["location"]) for value in weather)


def test_nullable_openapi_keyword() -> None:
    schema = {"type": "string", "nullable": True}
    values = [generate_value(schema, random.Random(seed)) for seed in SEEDS]
    assert {type(value) for value in values} == {str, type(None)}


def test_draft4_boolean_exclusive_bounds() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "integer",
        "minimum": 1,
        "maximum": 3,
        "exclusiveMinimum": True,
        "exclusiveMaximum": True,
    }
    assert {generate_value(schema, random.Random(seed)) for seed in range(20)} == {2}


@pytest.mark.parametrize(
    "pattern",
    [r"^\d{3}-\d{4}$", r"^[A-Z]{2}[0-9]{6}$", r"(foo|bar)+baz", r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", r"^v\d+\.\d+$", r"x*"],
)
def test_simple_patterns_are_matched(pattern: str) -> None:
    for seed in range(30):
        text = pattern_string(pattern, random.Random(seed))
        assert text is not None and re.search(pattern, text)


@pytest.mark.parametrize("pattern", [r"^(?!admin)\w+$", r"(a)\1", r"\p{L}+"])
def test_unsupported_patterns_fall_back_to_text(pattern: str) -> None:
    assert pattern_string(pattern, random.Random(1)) is None
    assert isinstance(generate_value({"type": "string", "pattern": pattern}, random.Random(1)), str)


@pytest.mark.parametrize(
    "schema",
    [
        False,
        {"enum": []},
        {"type": "integer", "minimum": 5, "maximum": 4},
        {"type": "integer", "minimum": 1, "maximum": 4, "multipleOf": 5},
        {"type": "string", "minLength": 5, "maxLength": 2},
        {"type": "array", "items": {"enum": [1, 2]}, "minItems": 3, "uniqueItems": True},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}, "required": ["a"]},
        {"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]},  # no finite instance
        {"type": []},
    ],
)
def test_unsatisfiable_schemas_raise(schema: Any) -> None:
    with pytest.raises(SchemaError):
        generate_value(schema, random.Random(0))


def test_generate_json_within_falls_back_to_the_smallest_instance() -> None:
    big = generate_json(UI_COMPONENT, random.Random(3))
    fitted = generate_json_within(UI_COMPONENT, random.Random(3), max_tokens=len(big) - 1, count_tokens=len)
    assert len(fitted) < len(big)
    validate(json.loads(fitted), UI_COMPONENT)
    assert generate_json_within(UI_COMPONENT, random.Random(3), None, len) == big


def _rows(items: int, kind: Any = None) -> dict[str, Any]:
    rows = {"type": "array", "minItems": items, "items": kind or {"type": "string"}}
    return {"type": "object", "properties": {"rows": rows}, "required": ["rows"], "additionalProperties": False}


def _tokens(text: str) -> int:
    return count_text(text, "o200k_base")


def test_an_instance_past_the_cap_is_made_no_further_than_the_cut() -> None:
    """20,000 strings for a 100-token answer: about a hundred are made, enough to pass the cap, not 20,000."""
    for text in (
        generate_json_passing(_rows(20_000), random.Random(1), 100, _tokens),
        generate_json_within(_rows(20_000), random.Random(1), 100, _tokens),
    ):
        assert _tokens(text) > 100 and text.count('","') < 200
    long_string = generate_json_within({"type": "string", "minLength": 10**8}, random.Random(1), 50, _tokens)
    assert _tokens(long_string) > 50 and len(long_string) < 16 * (50 + 64) + 100


def test_an_instance_within_the_cap_is_the_whole_one() -> None:
    assert generate_json_within(UI_COMPONENT, random.Random(5), 10_000, _tokens) == generate_json(
        UI_COMPONENT, random.Random(5)
    )
    # Values of under a token (empty objects): stopped at the bound yet fitting, it is made again, larger.
    schema = _rows(400, {"type": "object", "properties": {}, "additionalProperties": False})
    text = generate_json_passing(schema, random.Random(1), 250, _tokens)
    assert _tokens(text) > 250 or len(json.loads(text)["rows"]) >= 400
    whole = generate_json_passing(schema, random.Random(1), 2_000, _tokens)
    assert len(json.loads(whole)["rows"]) >= 400  # minItems, and a few more


def test_strict_violation_wording() -> None:
    assert strict_violation(ORDER) is None
    assert strict_violation(CORPUS["get_current_weather"]) == (
        "In context=(), 'additionalProperties' is required to be supplied and to be false."
    )
    loose_address = json.loads(json.dumps(ORDER))
    loose_address["$defs"]["address"]["required"].remove("country")
    assert strict_violation(loose_address) == (
        "In context=('$defs', 'address'), 'required' is required to be supplied and to be an array including "
        "every key in properties. Missing 'country'."
    )


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": [1, 2]},
        {"type": "object", "required": "name"},
        {"type": "array", "items": 3},
        {"type": "integer", "minimum": "one"},
        {"enum": 5},
        {"anyOf": {"type": "string"}},
        {"$ref": 5},
        {"type": "string", "pattern": "("},
        {"type": "number", "multipleOf": 0},
        {"allOf": [{"type": "string"}, {"type": "integer"}]},
    ],
)
def test_malformed_schemas_give_a_json_value_or_schema_error(schema: Any) -> None:
    """Schemas come from clients: a malformed one must never crash the simulator with another exception."""
    for seed in range(5):
        try:
            value = generate_value(schema, random.Random(seed))
        except SchemaError as error:
            assert str(error)
        else:
            assert json.loads(json.dumps(value)) == value
