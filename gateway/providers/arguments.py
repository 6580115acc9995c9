"""Tool-call arguments: the canonical form keeps them as the model's JSON text;
providers that take them as an object (Anthropic ``input``, Gemini ``args``)
decode them here, refusing text that is not a JSON object."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.canonical import FunctionCall
from gateway.errors import invalid_request


def call_arguments(call: FunctionCall, param: str) -> dict[str, Any]:
    if not call.arguments.strip():
        return {}
    try:
        value = msgspec.json.decode(call.arguments)
    except msgspec.DecodeError:
        raise invalid_request(
            f"The arguments of tool call '{call.call_id}' are not valid JSON.", param=param
        ) from None
    if not isinstance(value, dict):
        raise invalid_request(
            f"The arguments of tool call '{call.call_id}' must be a JSON object.", param=param
        )
    return value
