"""OpenAPI shapes of a routing rule's conditions and action (``docs/routing.md``),
one ``oneOf`` member per type the router compiles, told apart by ``type``.
The router (``routing_rules/router/rules.py``) stays the one validator."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from routing_rules.router.rules import ActionType, ConditionType


def _object(type_name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": [type_name]}, **properties},
        "required": ["type", *required],
        "additionalProperties": False,
    }


_STRING = {"type": "string"}
_NEGATE = {"negate": {"type": "boolean", "default": False, "description": "Hold when the test fails."}}
_CASE = {"case_sensitive": {"type": "boolean"}}

CONDITION_FIELDS: dict[ConditionType, tuple[dict[str, Any], list[str]]] = {
    ConditionType.TEXT_CONTAINS: ({"value": _STRING, **_CASE}, ["value"]),
    ConditionType.TEXT_REGEX: ({"pattern": {**_STRING, "description": "RE2"}, **_CASE}, ["pattern"]),
    ConditionType.METADATA_EQUALS: ({"key": _STRING, "value": _STRING}, ["key", "value"]),
    ConditionType.MODE_EQUALS: ({"value": _STRING}, ["value"]),
    ConditionType.MODEL_EQUALS: ({"value": _STRING}, ["value"]),
    ConditionType.MODEL_REGEX: ({"pattern": {**_STRING, "description": "RE2"}, **_CASE}, ["pattern"]),
    ConditionType.API_KEY_IN: (
        {"values": {"type": "array", "items": _STRING, "description": "Key prefixes (jk_…)."}},
        ["values"],
    ),
    ConditionType.INPUT_TOKENS_ABOVE: ({"value": {"type": "integer", "minimum": 0}}, ["value"]),
    ConditionType.HAS_TOOLS: ({}, []),
    ConditionType.HAS_IMAGES: ({}, []),
    ConditionType.HAS_FILES: ({}, []),
}

_MODELS = {"type": "array", "items": _STRING}
ACTION_FIELDS: dict[ActionType, tuple[dict[str, Any], list[str]]] = {
    ActionType.ROUTE: ({"model": _STRING, "fallbacks": _MODELS}, ["model"]),
    ActionType.FALLBACKS: ({"models": _MODELS}, ["models"]),
    ActionType.SPLIT: (
        {
            "targets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"model": _STRING, "weight": {"type": "integer", "minimum": 1}},
                    "required": ["model", "weight"],
                },
            }
        },
        ["targets"],
    ),
    ActionType.BLOCK: ({"message": _STRING}, []),
}

CONDITION_SCHEMA = {
    "oneOf": [
        _object(str(t), {**props, **_NEGATE}, required) for t, (props, required) in CONDITION_FIELDS.items()
    ],
    "discriminator": {"propertyName": "type"},
}
ACTION_SCHEMA = {
    "oneOf": [_object(str(t), props, required) for t, (props, required) in ACTION_FIELDS.items()],
    "discriminator": {"propertyName": "type"},
}


@extend_schema_field({"type": "array", "items": CONDITION_SCHEMA, "maxItems": 20})
class ConditionsField(serializers.JSONField):
    """A rule's conditions: a JSON list, validated by the router's compiler."""


@extend_schema_field(ACTION_SCHEMA)
class ActionField(serializers.JSONField):
    """A rule's action: a JSON object, validated by the router's compiler."""
