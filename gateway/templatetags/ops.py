"""Template helpers of the Logs, Routing rules and Firewall pages."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    """JSON indented for a <pre> (autoescaped by the template)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


_CONDITION_TEXT = {
    "text_contains": lambda c: f"text contains “{c.get('value', '')}”",
    "text_regex": lambda c: f"text ~ /{c.get('pattern', '')}/",
    "metadata_equals": lambda c: f"metadata.{c.get('key', '')} = “{c.get('value', '')}”",
    "mode_equals": lambda c: f"mode = {c.get('value', '')}",
    "model_equals": lambda c: f"model = {c.get('value', '')}",
    "model_regex": lambda c: f"model ~ /{c.get('pattern', '')}/",
    "api_key_in": lambda c: f"key in {', '.join(c.get('values') or [])}",
    "input_tokens_above": lambda c: f"input tokens > {c.get('value', '')}",
    "has_tools": lambda c: "has tools",
    "has_images": lambda c: "has images",
    "has_files": lambda c: "has files",
}


@register.filter
def rule_condition(condition: dict[str, Any]) -> str:
    """A routing-rule condition as a person reads it: ``metadata.app = “support”``."""
    text = _CONDITION_TEXT.get(condition.get("type", ""), lambda c: str(c.get("type")))(condition)
    return f"not {text}" if condition.get("negate") else text


@register.filter
def rule_action(action: dict[str, Any]) -> str:
    kind = action.get("type")
    if kind == "route":
        then = f" (then {', '.join(action['fallbacks'])})" if action.get("fallbacks") else ""
        return f"route → {action.get('model', '')}{then}"
    if kind == "fallbacks":
        return f"fallbacks: {', '.join(action.get('models') or [])}"
    if kind == "split":
        targets = action.get("targets") or []
        total = sum(t.get("weight", 0) for t in targets) or 1
        return "split: " + ", ".join(
            f"{t.get('model')} {round(100 * t.get('weight', 0) / total)}%" for t in targets
        )
    if kind == "block":
        return f"block: “{action.get('message') or 'Blocked by a routing rule.'}”"
    return str(kind)
