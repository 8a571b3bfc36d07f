"""Realistic schemas for the generator tests: tool parameters and structured-output schemas seen in the wild."""

from __future__ import annotations

from typing import Any

# OpenAI cookbook, "How to call functions with chat models".
GET_CURRENT_WEATHER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "format": {
            "type": "string",
            "enum": ["celsius", "fahrenheit"],
            "description": "The temperature unit to use. Infer this from the users location.",
        },
    },
    "required": ["location", "format"],
}
GET_N_DAY_WEATHER_FORECAST: dict[str, Any] = {
    "type": "object",
    "properties": {
        **GET_CURRENT_WEATHER["properties"],
        "num_days": {"type": "integer", "description": "The number of days to forecast"},
    },
    "required": ["location", "format", "num_days"],
}

# A strict structured-outputs schema: $defs, enums, nullable references, formats, money with multipleOf.
ORDER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "format": "uuid"},
        "created_at": {"type": "string", "format": "date-time"},
        "status": {"type": "string", "enum": ["pending", "paid", "shipped", "cancelled"]},
        "customer": {"$ref": "#/$defs/customer"},
        "items": {"type": "array", "items": {"$ref": "#/$defs/line_item"}, "minItems": 1, "maxItems": 5},
        "shipping_address": {"anyOf": [{"$ref": "#/$defs/address"}, {"type": "null"}]},
        "total": {"type": "number", "minimum": 0, "multipleOf": 0.01},
        "notes": {"type": ["string", "null"]},
    },
    "required": ["order_id", "created_at", "status", "customer", "items", "shipping_address", "total", "notes"],
    "additionalProperties": False,
    "$defs": {
        "customer": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 40},
                "email": {"type": "string", "format": "email"},
                "tier": {"type": "string", "enum": ["standard", "gold", "platinum"]},
            },
            "required": ["name", "email", "tier"],
            "additionalProperties": False,
        },
        "line_item": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 10},
                "unit_price": {"type": "number", "exclusiveMinimum": 0, "maximum": 500, "multipleOf": 0.01},
            },
            "required": ["sku", "quantity", "unit_price"],
            "additionalProperties": False,
        },
        "address": {
            "type": "object",
            "properties": {
                "street": {"type": "string"},
                "city": {"type": "string"},
                "postal_code": {"type": "string", "pattern": "^\\d{5}(-\\d{4})?$"},
                "country": {"type": "string", "enum": ["US", "CA", "MX"]},
            },
            "required": ["street", "city", "postal_code", "country"],
            "additionalProperties": False,
        },
    },
}

# Arrays of objects with optional properties, unique tags and bounded numbers (a typical extraction tool).
EXTRACT_PEOPLE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "people": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "age": {"type": "integer", "minimum": 0, "maximum": 120},
                    "email": {"type": "string", "format": "email"},
                    "homepage": {"type": "string", "format": "uri"},
                    "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "uniqueItems": True},
                },
                "required": ["name"],
            },
        },
        "source": {"type": "string", "enum": ["email", "chat", "document"]},
    },
    "required": ["people"],
}

# OpenAI's structured-outputs example "chain of thought" (math tutor).
MATH_REASONING: dict[str, Any] = {
    "type": "object",
    "properties": {
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"explanation": {"type": "string"}, "output": {"type": "string"}},
                "required": ["explanation", "output"],
                "additionalProperties": False,
            },
        },
        "final_answer": {"type": "string"},
    },
    "required": ["steps", "final_answer"],
    "additionalProperties": False,
}

# OpenAI's structured-outputs example of a recursive schema ("#" refers to the root).
UI_COMPONENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["div", "button", "header", "section", "field", "form"]},
        "label": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#"}},
        "attributes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                "required": ["name", "value"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["type", "label", "children", "attributes"],
    "additionalProperties": False,
}

# Recursion through $defs whose only exit is a null branch (OpenAI's "linked list" example).
LINKED_LIST: dict[str, Any] = {
    "type": "object",
    "properties": {"linked_list": {"$ref": "#/$defs/linked_list_node"}},
    "required": ["linked_list"],
    "additionalProperties": False,
    "$defs": {
        "linked_list_node": {
            "type": "object",
            "properties": {
                "value": {"type": "number"},
                "next": {"anyOf": [{"$ref": "#/$defs/linked_list_node"}, {"type": "null"}]},
            },
            "required": ["value", "next"],
            "additionalProperties": False,
        }
    },
}

# A discriminated union (oneOf with const discriminators), as tool schemas for drawing or payments use.
SHAPES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "shapes": {
            "type": "array",
            "minItems": 1,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {
                            "kind": {"const": "circle"},
                            "radius": {"type": "number", "exclusiveMinimum": 0},
                        },
                        "required": ["kind", "radius"],
                    },
                    {
                        "type": "object",
                        "properties": {
                            "kind": {"const": "rectangle"},
                            "width": {"type": "integer", "minimum": 1, "multipleOf": 5},
                            "height": {"type": "integer", "minimum": 1},
                        },
                        "required": ["kind", "width", "height"],
                    },
                ]
            },
        }
    },
    "required": ["shapes"],
}

# allOf composition over definitions (draft-07 style), with a map (additionalProperties schema).
ALL_OF_EVENT: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "definitions": {
        "base": {
            "type": "object",
            "properties": {"id": {"type": "string", "format": "uuid"}, "at": {"type": "string", "format": "date"}},
            "required": ["id", "at"],
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 20}, "maxProperties": 3},
    },
    "allOf": [
        {"$ref": "#/definitions/base"},
        {
            "properties": {
                "severity": {"type": "integer", "minimum": 1, "maximum": 5},
                "labels": {"$ref": "#/definitions/labels"},
            },
            "required": ["severity", "labels"],
        },
    ],
}

# What pydantic's model_json_schema() emits for a model with Optional fields and an Enum.
PYDANTIC_TICKET: dict[str, Any] = {
    "$defs": {
        "Priority": {"enum": ["low", "medium", "high"], "title": "Priority", "type": "string"},
        "Assignee": {
            "properties": {
                "login": {"title": "Login", "type": "string", "pattern": "^[a-z][a-z0-9-]{2,15}$"},
                "team": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Team"},
            },
            "required": ["login"],
            "title": "Assignee",
            "type": "object",
        },
    },
    "properties": {
        "title": {"maxLength": 80, "minLength": 5, "title": "Title", "type": "string"},
        "priority": {"$ref": "#/$defs/Priority"},
        "assignees": {"items": {"$ref": "#/$defs/Assignee"}, "maxItems": 3, "title": "Assignees", "type": "array"},
        "estimate_hours": {"anyOf": [{"type": "number", "minimum": 0.5, "maximum": 40}, {"type": "null"}]},
        "due": {"anyOf": [{"format": "date-time", "type": "string"}, {"type": "null"}], "default": None},
    },
    "required": ["title", "priority", "assignees"],
    "title": "Ticket",
    "type": "object",
}

# Keywords without `type`, tuples, numeric edge cases and formats in one place.
MISCELLANY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": False},
        "untyped_object": {"properties": {"a": {"type": "boolean"}}, "required": ["a"]},
        "untyped_string": {"minLength": 3, "maxLength": 5},
        "percentage": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "negative": {"type": "integer", "maximum": -10},
        "half_steps": {"type": "number", "minimum": -2, "maximum": 2, "multipleOf": 0.5},
        "constant": {"const": {"version": 2}},
        "anything": {},
        "ip": {"type": "string", "format": "ipv4"},
        "ipv6": {"type": "string", "format": "ipv6"},
        "host": {"type": "string", "format": "hostname"},
        "clock": {"type": "string", "format": "time"},
        "mixed": {"type": ["integer", "string", "boolean", "null"]},
        "phone": {"type": "string", "pattern": "^\\+1 \\(\\d{3}\\) \\d{3}-\\d{4}$"},
        "code": {"type": "string", "pattern": "^(?:ab|cd)[^xyz]{2}\\w+$", "maxLength": 12},
    },
}
MISCELLANY["required"] = list(MISCELLANY["properties"])

CORPUS: dict[str, dict[str, Any]] = {
    "get_current_weather": GET_CURRENT_WEATHER,
    "get_n_day_weather_forecast": GET_N_DAY_WEATHER_FORECAST,
    "order": ORDER,
    "extract_people": EXTRACT_PEOPLE,
    "math_reasoning": MATH_REASONING,
    "ui_component": UI_COMPONENT,
    "linked_list": LINKED_LIST,
    "shapes": SHAPES,
    "all_of_event": ALL_OF_EVENT,
    "pydantic_ticket": PYDANTIC_TICKET,
    "miscellany": MISCELLANY,
}
