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
