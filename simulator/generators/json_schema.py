"""Seeded instances of a JSON Schema: the arguments of generated tool calls and structured outputs.

A load test needs answers a client can parse and validate, not meaningful ones, so each value is drawn at
random (from the caller's `random.Random`) within what the schema allows, strings from the lorem corpus, and
sizes stay small. Supported subset (enough for real tool schemas and OpenAI structured outputs):

- `type` as a name or a list of names (`"null"` included), OpenAPI's `nullable: true`, boolean schemas;
  without `type`, the kind follows from the keywords present (`properties` → object, `items` → array, …)
- objects: `properties`, `required` (always present), other properties present at random, `additionalProperties`
  (`false`, a schema, or `true`) and `minProperties`/`maxProperties`
- arrays: `items` (a schema, or a list as in draft 4–7 tuples), `prefixItems`, `minItems`/`maxItems`,
  `uniqueItems`
- `enum`, `const`; `anyOf`, `oneOf` (a branch at random: branches are assumed disjoint, as in discriminated
  unions), `allOf` (merged); `$ref` to `#`, `#/$defs/…`, `#/definitions/…` or any local JSON pointer, recursion
  bounded by `Limits.max_depth` (deeper levels take only what is required: null branches, `minItems` items)
- strings: `format` date-time, date, time, email, uri/url, uuid, hostname, ipv4, ipv6, duration;
  `minLength`/`maxLength`; `pattern` (generated from the regular expression when it is simple, checked with
  `re.search`; otherwise lorem text is kept, which may not match)
- numbers and integers: `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum` (numbers, or draft 4
  booleans), `multipleOf`

Ignored: `not`, `if`/`then`/`else`, `patternProperties`, `propertyNames`, `dependent*`, `contains`,
`$ref` to other documents. An unsatisfiable schema (`false`, an empty `enum`, contradictory bounds) raises
`SchemaError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from simulator.generators import lorem

try:  # The standard library's regular-expression parser: private, hence optional.
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - a Python without the module falls back to lorem strings
    sre_parser = sre_constants = None

Schema = Mapping[str, Any] | bool

_KEYWORD_TYPES = (
    ("object", ("properties", "required", "additionalProperties", "minProperties", "maxProperties")),
    ("array", ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")),
    ("string", ("minLength", "maxLength", "pattern", "format")),
    ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
)
_SCALAR_TYPES = ("string", "integer", "number", "boolean")
_EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


CHARACTERS_PER_TOKEN = 16  # a bounded string's length per token of the bound: longer than a lorem token


class SchemaError(ValueError):
    """The schema admits no value the generator can produce."""


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """How big generated values get when the schema leaves it open."""

    max_depth: int = 5  # nesting (and $ref expansion) beyond which only required parts are generated
    extra_items: int = 3  # arrays hold minItems plus up to this many more
    optional_probability: float = 0.5  # chance that a non-required property is present
    null_probability: float = 0.1  # chance of null when a type list or anyOf offers it
    words: tuple[int, int] = (1, 6)  # lorem pieces in a free-form string
    number_range: tuple[int, int] = (0, 1000)  # when neither bound is given
    # Tokens an instance may hold before arrays and maps take no more items and strings stop growing (None: no
    # bound), counted from below: a value, or a word of a string, is a token or more. For an answer cut at a cap
    # anyway, the rest of a huge instance would be made only to be dropped.
    max_tokens: int | None = None

    @classmethod
    def minimal(cls) -> Limits:
        """The smallest instances: required properties only, minItems items, one-word strings."""
        return cls(max_depth=0, extra_items=0, optional_probability=0.0, null_probability=1.0, words=(1, 1))


def generate_json(schema: Schema, rng: random.Random, limits: Limits = Limits()) -> str:
    """Compact JSON text of a random instance of `schema`."""
    return dumps(generate_value(schema, rng, limits))


def generate_value(schema: Schema, rng: random.Random, limits: Limits = Limits()) -> Any:
    """A random instance of `schema`; `SchemaError` when there is none or the schema is malformed."""
    return _generate(schema, rng, limits)[0]


def _generate(schema: Schema, rng: random.Random, limits: Limits) -> tuple[Any, bool]:
    """An instance, and whether `limits.max_tokens` stopped it short of what the schema asks for."""
    root = schema if isinstance(schema, Mapping) else {}
    try:
        generator = _Generator(root, rng, limits)
        return generator.value(schema, 0), generator.stopped
    except SchemaError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError, RecursionError) as error:
        # Schemas arrive from clients: a malformed one is their mistake, never a crash of the simulator.
        raise SchemaError(f"The schema is malformed: {error!r}") from error


def generate_json_within(
    schema: Schema, rng: random.Random, max_tokens: int | None, count_tokens: Callable[[str], int]
) -> str:
    """JSON text that fits `max_tokens` when the schema allows it: the usual instance, else the smallest.

    The caller still cuts the text (finish_reason "length") when even the smallest instance is too long,
    as the real service does. An instance is made no further than it takes to pass `max_tokens` (`_passing`):
    the text up to the cut is the same, the rest of a huge instance is never made (a schema of 20,000 strings
    asked for by 128 choices cost 23 s of CPU).
    """
    if max_tokens is None:
        return generate_json(schema, rng)
    text = ""
    for limits in (Limits(), Limits.minimal()):
        text, fits = _passing(schema, rng, limits, max_tokens, count_tokens)
        if fits:
            break
    return text


def generate_json_passing(
    schema: Schema, rng: random.Random, max_tokens: int, count_tokens: Callable[[str], int]
) -> str:
    """The usual instance's JSON text, made no further than it takes to pass `max_tokens` (the caller cuts it
    there, as tool-call arguments are cut)."""
    return _passing(schema, rng, Limits(), max_tokens, count_tokens)[0]


def _passing(
    schema: Schema, rng: random.Random, limits: Limits, max_tokens: int, count_tokens: Callable[[str], int]
) -> tuple[str, bool]:
    """An instance, stopped once it surely holds more than `max_tokens`, and whether it fits. One stopped yet
    fitting (values of under a token after all, as in an array of empty objects) is made again with four times
    the bound, until it is whole or too long."""
    bound = max_tokens + 64
    while True:
        value, stopped = _generate(schema, rng, dataclasses.replace(limits, max_tokens=bound))
        text = dumps(value)
        fits = count_tokens(text) <= max_tokens
        if not (stopped and fits):
            return text, fits
        bound *= 4


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Generator:
    """One generation: the root (for `$ref`), the random source and the limits."""

    def __init__(self, root: Mapping[str, Any], rng: random.Random, limits: Limits) -> None:
        self.root = root
        self.rng = rng
        self.limits = limits
        self.tokens = 0  # made so far, counted from below (`Limits.max_tokens`)
        self.stopped = False  # `limits.max_tokens` cut an array, a map or a string short

    def spent(self) -> bool:
        """Whether the instance holds `limits.max_tokens`: no more items are added (`stopped`)."""
        bound = self.limits.max_tokens
        if bound is None or self.tokens < bound:
            return False
        self.stopped = True
        return True

    def value(self, schema: Schema, depth: int) -> Any:
        if schema is True:
            schema = {}
        if schema is False:
            raise SchemaError("The schema `false` admits no value.")
        if depth > self.limits.max_depth + 40:
            raise SchemaError("The schema requires an infinitely deep value.")
        self.tokens += 1
        schema = self.resolve(schema)
        if "allOf" in schema:
            return self.value(merge_all_of(schema, self.resolve), depth)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            if not schema["enum"]:
                raise SchemaError("An empty `enum` admits no value.")
            return self.rng.choice(schema["enum"])
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            branch = self.pick_branch(branches, depth)
            rest = {key: item for key, item in schema.items() if key not in ("anyOf", "oneOf")}
            return self.value(merge_all_of({"allOf": [rest, branch]}, self.resolve) if rest else branch, depth)
        kind = self.pick_type(schema, depth)
        return getattr(self, "_" + kind)(schema, depth)

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema:
            target = resolve_pointer(self.root, schema["$ref"])
            siblings = {key: item for key, item in schema.items() if key != "$ref"}
            schema = {**target, **siblings} if isinstance(target, Mapping) else ({} if target is True else target)
            if schema is False:
                raise SchemaError("The schema `false` admits no value.")
            seen += 1
            if seen > 64:
                raise SchemaError("`$ref` loops without reaching a schema.")
        return schema

    def shallow(self, depth: int) -> bool:
        return depth >= self.limits.max_depth

    def pick_branch(self, branches: Sequence[Schema], depth: int) -> Schema:
        nulls = [branch for branch in branches if _is_null_schema(branch)]
        others = [branch for branch in branches if not _is_null_schema(branch)]
        if nulls and (not others or self.shallow(depth) or self.rng.random() < self.limits.null_probability):
            return nulls[0]
        if self.shallow(depth):
            plain = [branch for branch in others if not _mentions_ref(branch)]
            others = plain or others
        return self.rng.choice(others)

    def pick_type(self, schema: Mapping[str, Any], depth: int) -> str:
        declared = schema.get("type")
        if declared is None:
            kinds = [kind for kind, keywords in _KEYWORD_TYPES if any(keyword in schema for keyword in keywords)]
            kinds = kinds[:1] or ["string"]
        else:
            kinds = [declared] if isinstance(declared, str) else list(declared)
        if schema.get("nullable") is True and "null" not in kinds:
            kinds.append("null")
        if not kinds:
            raise SchemaError("An empty `type` list admits no value.")
        unknown = [kind for kind in kinds if kind not in (*_SCALAR_TYPES, "object", "array", "null")]
        if unknown:
            raise SchemaError(f"Unknown type {unknown[0]!r}.")
        values = [kind for kind in kinds if kind != "null"]
        if not values or (len(values) < len(kinds) and (self.shallow(depth) or self._chance_of_null())):
            return "null"
        return self.rng.choice(values)

    def _chance_of_null(self) -> bool:
        return self.rng.random() < self.limits.null_probability

    # One method per JSON type: `value` dispatches on the name.

    def _null(self, schema: Mapping[str, Any], depth: int) -> None:
        return None

    def _boolean(self, schema: Mapping[str, Any], depth: int) -> bool:
        return self.rng.random() < 0.5

    def _integer(self, schema: Mapping[str, Any], depth: int) -> int:
        low, high = _bounds(schema, self.limits, integer=True)
        if low > high:
            raise SchemaError("No integer lies within `minimum` and `maximum`.")
        step = schema.get("multipleOf")
        if step:
            return int(_multiple_within(low, high, step, self.rng, integer=True))
        return self.rng.randint(int(low), int(high))

    def _number(self, schema: Mapping[str, Any], depth: int) -> float | int:
        low, high = _bounds(schema, self.limits, integer=False)
        if low > high:
            raise SchemaError("`minimum` is above `maximum`.")
        step = schema.get("multipleOf")
        if step:
            return _multiple_within(low, high, step, self.rng)
        value = round(self.rng.uniform(low, high), 2)
        if not low <= value <= high:
            value = self.rng.uniform(low, high)
        return value

    def _string(self, schema: Mapping[str, Any], depth: int) -> str:
        minimum, maximum = schema.get("minLength", 0), schema.get("maxLength")
        if maximum is not None and minimum > maximum:
            raise SchemaError("`minLength` is above `maxLength`.")
        text = _FORMATS[schema["format"]](self.rng) if schema.get("format") in _FORMATS else None
        if text is None and "pattern" in schema:
            text = pattern_string(schema["pattern"], self.rng)
            if text is not None and _fits_length(text, minimum, maximum):
                return text
            text = None
        if text is None:
            text = self.words(self.rng.randint(*self.limits.words))
        bound = self.limits.max_tokens
        if bound is not None and minimum > CHARACTERS_PER_TOKEN * bound:  # longer than `bound` tokens of lorem
            minimum = CHARACTERS_PER_TOKEN * bound
            self.stopped = True
        text = _fit_length(text, minimum, maximum, self.words)
        self.tokens += text.count(" ")  # each further word is a token or more
        return text

    def words(self, count: int) -> str:
        return "".join(lorem.lorem_pieces(count, self.rng)).strip()

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        items = schema.get("items", True)
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        prefix = prefix or []
        minimum = schema.get("minItems", 0)
        maximum = schema.get("maxItems")
        extra = 0 if self.shallow(depth) else self.rng.randint(0, self.limits.extra_items)
        count = max(minimum, min(len(prefix), minimum + extra) if prefix else minimum + extra)
        if items is False:
            count = min(count, len(prefix))
        if maximum is not None:
            count = min(count, maximum)
        if count < minimum:
            raise SchemaError("`minItems` asks for more items than the schema allows.")
        result: list[Any] = []
        seen: set[str] = set()
        attempts = 0
        while len(result) < count and not self.spent():
            index = len(result)
            value = self.value(prefix[index] if index < len(prefix) else items, depth + 1)
            key = dumps(value)
            attempts += 1
            if schema.get("uniqueItems") and key in seen:
                if attempts > 20 * count:
                    if len(result) >= minimum:
                        break
                    raise SchemaError("`uniqueItems` cannot be met with `minItems` items.")
                continue
            seen.add(key)
            result.append(value)
        return result

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties: Mapping[str, Schema] = schema.get("properties") or {}
        required = [name for name in schema.get("required", ()) if properties.get(name, True) is not False]
        optional = [name for name in properties if name not in required and properties[name] is not False]
        chance = 0.0 if self.shallow(depth) else self.limits.optional_probability
        chosen = set(required) | {name for name in optional if self.rng.random() < chance}
        minimum, maximum = schema.get("minProperties", 0), schema.get("maxProperties")
        for name in optional:
            if len(chosen) >= minimum:
                break
            chosen.add(name)
        if maximum is not None and len(required) > maximum:
            raise SchemaError("`required` names more properties than `maxProperties` allows.")
        names = [name for name in properties if name in chosen] + [name for name in required if name not in properties]
        if maximum is not None:
            names = sorted(names, key=lambda name: name not in required)[:maximum]
        result = {name: self.value(properties.get(name, True), depth + 1) for name in names}
        additional = schema.get("additionalProperties", True)
        wanted = minimum
        if isinstance(additional, Mapping) and not self.shallow(depth):  # a map: give it a few entries
            wanted = max(minimum, len(result) + self.rng.randint(0, self.limits.extra_items))
            wanted = min(wanted, maximum) if maximum is not None else wanted
        while len(result) < wanted and not self.spent():
            if additional is False:
                raise SchemaError("`minProperties` needs more properties than the schema allows.")
            result[self.fresh_key(result)] = self.value(additional, depth + 1)
        return result

    def fresh_key(self, taken: Mapping[str, Any]) -> str:
        while True:
            key = self.rng.choice(lorem.WORDS)
            if key not in taken:
                return key
            key = f"{key}_{self.rng.randrange(1000)}"
            if key not in taken:
                return key


def resolve_pointer(root: Mapping[str, Any], ref: str) -> Any:
    """The schema a local `$ref` ("#", "#/$defs/Name", any JSON pointer) points at."""
    if not ref.startswith("#"):
        raise SchemaError(f"Only local references are supported, not {ref!r}.")
    target: Any = root
    for token in filter(None, ref[1:].split("/")):
        token = token.replace("~1", "/").replace("~0", "~")
        try:
            target = target[int(token)] if isinstance(target, list) else target[token]
        except (KeyError, IndexError, ValueError, TypeError):
            raise SchemaError(f"The reference {ref!r} points at nothing.") from None
    return target


def merge_all_of(schema: Mapping[str, Any], resolve: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> dict:
    """One schema that demands what every `allOf` part demands (for the keywords the generator reads)."""
    merged: dict[str, Any] = {key: item for key, item in schema.items() if key != "allOf"}
    for part in schema.get("allOf", ()):
        if part is False:
            raise SchemaError("An `allOf` part is `false`.")
        if part is True:
            continue
        part = resolve(part)
        if "allOf" in part:
            part = merge_all_of(part, resolve)
        for key, item in part.items():
            merged[key] = _merge_keyword(key, merged[key], item) if key in merged else item
    return merged


def _merge_keyword(key: str, mine: Any, theirs: Any) -> Any:
    if key == "properties":
        return {
            name: {"allOf": [mine[name], theirs[name]]}
            if name in mine and name in theirs
            else mine.get(name, theirs.get(name))
            for name in {**mine, **theirs}
        }
    if key == "required":
        return list(dict.fromkeys([*mine, *theirs]))
    if key == "type":
        mine_set = {mine} if isinstance(mine, str) else set(mine)
        theirs_list = [theirs] if isinstance(theirs, str) else list(theirs)
        both = [kind for kind in theirs_list if kind in mine_set or (kind == "integer" and "number" in mine_set)]
        both += [kind for kind in mine_set if kind == "integer" and "number" in theirs_list and kind not in both]
        return both
    if key == "enum":
        return [item for item in mine if item in theirs]
    if key in ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"):
        return max(mine, theirs) if not isinstance(mine, bool) else theirs
    if key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"):
        return min(mine, theirs) if not isinstance(mine, bool) else theirs
    if key == "additionalProperties":
        return False if mine is False or theirs is False else theirs
    if key in ("anyOf", "oneOf"):
        return [{"allOf": [left, right]} for left in mine for right in theirs]
    return theirs


def _is_null_schema(schema: Schema) -> bool:
    if not isinstance(schema, Mapping):
        return False
    kind = schema.get("type")
    return kind == "null" or kind == ["null"] or schema.get("const", 0) is None or schema.get("enum") == [None]


def _mentions_ref(schema: Any) -> bool:
    if isinstance(schema, Mapping):
        return "$ref" in schema or any(_mentions_ref(item) for item in schema.values())
    if isinstance(schema, list):
        return any(_mentions_ref(item) for item in schema)
    return False


def _bounds(schema: Mapping[str, Any], limits: Limits, *, integer: bool) -> tuple[float, float]:
    """Inclusive bounds; an open side lies `number_range`'s width away from the other."""
    low, high = schema.get("minimum"), schema.get("maximum")
    exclusive_low, exclusive_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    nudge = 1 if integer else 0.01
    if exclusive_low is True and low is not None:  # draft 4: a boolean that qualifies `minimum`
        low += nudge
    elif isinstance(exclusive_low, int | float) and not isinstance(exclusive_low, bool):
        low = max(low, exclusive_low + nudge) if low is not None else exclusive_low + nudge
    if exclusive_high is True and high is not None:
        high -= nudge
    elif isinstance(exclusive_high, int | float) and not isinstance(exclusive_high, bool):
        high = min(high, exclusive_high - nudge) if high is not None else exclusive_high - nudge
    width = limits.number_range[1] - limits.number_range[0]
    if low is None and high is None:
        low, high = limits.number_range
    elif low is None:
        low = min(high - width, limits.number_range[0]) if high < limits.number_range[0] else limits.number_range[0]
    elif high is None:
        high = max(low + width, limits.number_range[1]) if low > limits.number_range[1] else limits.number_range[1]
    if integer:
        low, high = math.ceil(low), math.floor(high)
    return low, high


def _multiple_within(low: float, high: float, step: float, rng: random.Random, *, integer: bool = False) -> float:
    """A multiple of `step` in [low, high] that also divides cleanly in binary floating point."""
    from decimal import Decimal  # only schemas with multipleOf need it: not loaded in every process

    exact = Decimal(str(step))
    first, last = math.ceil(Decimal(str(low)) / exact), math.floor(Decimal(str(high)) / exact)

    def clean(value: float) -> bool:
        return (value / step).is_integer() and low <= value <= high and (value.is_integer() or not integer)

    for _ in range(32):
        value = float(rng.randint(first, last) * exact) if first <= last else math.nan
        if clean(value):
            return int(value) if value.is_integer() else value
    for k in range(first, min(last, first + 10_000) + 1):  # whole numbers divide cleanly by most steps
        value = float(k * exact)
        if value.is_integer() and clean(value):
            return int(value)
    raise SchemaError("No number within the bounds is a clean multiple of `multipleOf`.")


def _fits_length(text: str, minimum: int, maximum: int | None) -> bool:
    return len(text) >= minimum and (maximum is None or len(text) <= maximum)


def _fit_length(text: str, minimum: int, maximum: int | None, words: Callable[[int], str]) -> str:
    parts, length = [text], len(text)
    while length < minimum:  # joined once: a string of a million characters is not copied at each word
        part = words(8)
        parts.append(part)
        length += 1 + len(part)
    text = " ".join(parts)
    if maximum is not None and len(text) > maximum:
        text = text[:maximum].rstrip() if len(text[:maximum].rstrip()) >= minimum else text[:maximum]
    return text


def _date_time(rng: random.Random) -> str:
    moment = _EPOCH + datetime.timedelta(seconds=rng.randrange(2 * 365 * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _word(rng: random.Random) -> str:
    return rng.choice(lorem.WORDS)


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date-time": _date_time,
    "date": lambda rng: _date_time(rng)[:10],
    "time": lambda rng: _date_time(rng)[11:],
    "email": lambda rng: f"{_word(rng)}.{_word(rng)}@example.com",
    "uri": lambda rng: f"https://example.com/{_word(rng)}/{_word(rng)}",
    "url": lambda rng: f"https://example.com/{_word(rng)}/{_word(rng)}",
    "uri-reference": lambda rng: f"/{_word(rng)}/{_word(rng)}",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "hostname": lambda rng: f"{_word(rng)}.example.com",
    "ipv4": lambda rng: "10." + ".".join(str(rng.randrange(256)) for _ in range(3)),
    "ipv6": lambda rng: "fd00::" + ":".join(format(rng.randrange(65536), "x") for _ in range(3)),
    "duration": lambda rng: f"PT{rng.randint(1, 59)}M",
}


# Strings for `pattern`: the standard library parses the regular expression once into a plan of literal
# pieces, character choices, repeats and alternatives; each string is a random walk through that plan.

_PRINTABLE = "".join(chr(code) for code in range(0x20, 0x7F))
_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0123456789",
    "CATEGORY_WORD": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
    "CATEGORY_SPACE": " ",
}
_CATEGORY_COMPLEMENTS = {
    "CATEGORY_NOT_DIGIT": "CATEGORY_DIGIT",
    "CATEGORY_NOT_WORD": "CATEGORY_WORD",
    "CATEGORY_NOT_SPACE": "CATEGORY_SPACE",
}
_MAX_REPEAT_EXTRA = 3

# A plan is a tuple of steps: a str (one character out of it), ("repeat", low, high, plan) or ("branch", plans).
Plan = tuple[Any, ...]


class _UnsupportedPatternError(Exception):
    pass


def pattern_string(pattern: str, rng: random.Random) -> str | None:
    """A string that `re.search(pattern, ·)` accepts, or None when the pattern is beyond this walker."""
    plan = _pattern_plan(pattern)
    if plan is None:
        return None
    for _ in range(8):
        text = _walk(plan, rng)
        if re.search(pattern, text):
            return text
    return None


@functools.lru_cache(maxsize=512)
def _pattern_plan(pattern: str) -> Plan | None:
    if sre_parser is None:
        return None
    try:
        return _plan(sre_parser.parse(pattern))
    except (_UnsupportedPatternError, re.error, RecursionError, OverflowError, TypeError, ValueError):
        return None


def _walk(plan: Plan, rng: random.Random) -> str:
    parts: list[str] = []
    for step in plan:
        if isinstance(step, str):
            parts.append(step if len(step) == 1 else rng.choice(step))
        elif step[0] == "repeat":
            _, low, high, body = step
            parts.extend(_walk(body, rng) for _ in range(rng.randint(low, high)))
        else:
            parts.append(_walk(rng.choice(step[1]), rng))
    return "".join(parts)


def _plan(items: Any) -> Plan:
    steps: list[Any] = []
    for op, argument in items:
        step = _step(str(op), argument)
        if step is not None:
            steps.append(step)
    return tuple(steps)


def _step(name: str, argument: Any) -> Any:
    if name == "LITERAL":
        return chr(argument)
    if name == "NOT_LITERAL":
        return _PRINTABLE.replace(chr(argument), "")
    if name == "ANY":
        return _CATEGORY_CHARS["CATEGORY_WORD"]
    if name == "IN":
        return _char_class(argument)
    if name == "CATEGORY":
        return _char_class([("CATEGORY", argument)])
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, body = argument
        high = low + _MAX_REPEAT_EXTRA if high == sre_constants.MAXREPEAT else min(high, low + _MAX_REPEAT_EXTRA)
        return ("repeat", low, high, _plan(body))
    if name == "SUBPATTERN":
        return ("branch", (_plan(argument[-1]),))
    if name == "ATOMIC_GROUP":
        return ("branch", (_plan(argument),))
    if name == "BRANCH":
        return ("branch", tuple(_plan(branch) for branch in argument[1]))
    if name == "AT":  # anchors: the walk starts and ends the string anyway
        return None
    raise _UnsupportedPatternError(name)


def _char_class(members: Any) -> str:
    allowed: list[str] = []
    negate = False
    for op, argument in members:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            allowed.append(chr(argument))
        elif name == "RANGE":
            low, high = argument
            allowed.extend(chr(code) for code in range(low, min(high, low + 255) + 1))
        elif name == "CATEGORY" and str(argument) in _CATEGORY_CHARS:
            allowed.append(_CATEGORY_CHARS[str(argument)])
        elif name == "CATEGORY" and str(argument) in _CATEGORY_COMPLEMENTS:
            excluded = _CATEGORY_CHARS[_CATEGORY_COMPLEMENTS[str(argument)]]
            allowed.extend(char for char in _PRINTABLE if char not in excluded)
        else:
            raise _UnsupportedPatternError(name)
    chars = "".join(dict.fromkeys("".join(allowed)))
    if negate:
        chars = "".join(char for char in _PRINTABLE if char not in chars)
    if not chars:
        raise _UnsupportedPatternError("empty character class")
    return chars


def strict_violation(schema: Mapping[str, Any]) -> str | None:
    """Why OpenAI's strict mode (structured outputs, `strict: true` functions) refuses `schema`, or None.

    Strict mode wants every object closed (`additionalProperties: false`) and every property required; the
    message follows OpenAI's "In context=(…), …" wording.
    """
    for path, node in _schema_nodes(schema, ()):
        if not _is_object_schema(node):
            continue
        context = f"In context={path!r}, "
        if node.get("additionalProperties") is not False:
            return context + "'additionalProperties' is required to be supplied and to be false."
        properties = node.get("properties") or {}
        required = node.get("required")
        missing = [name for name in properties if not isinstance(required, list) or name not in required]
        if missing:
            return (
                context + "'required' is required to be supplied and to be an array including every key in "
                f"properties. Missing '{missing[0]}'."
            )
    return None


def _is_object_schema(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def _schema_nodes(node: Any, path: tuple[str, ...]) -> Any:
    """Every sub-schema of `node` with its path (the `context` of OpenAI's messages)."""
    if not isinstance(node, Mapping):
        return
    yield path, node
    for keyword in ("properties", "$defs", "definitions"):
        for name, child in (node.get(keyword) or {}).items():
            yield from _schema_nodes(child, (*path, keyword, name))
    items = node.get("items")
    if isinstance(items, Mapping):
        yield from _schema_nodes(items, (*path, "items"))
    for keyword in ("anyOf", "oneOf", "allOf"):
        for index, child in enumerate(node.get(keyword) or ()):
            yield from _schema_nodes(child, (*path, keyword, str(index)))
