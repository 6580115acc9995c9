"""Content helpers shared by the adapters whose wire takes structured content
(Anthropic, Gemini): tool-call arguments as objects, and inline data URLs."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.canonical import FunctionCall
from gateway.errors import invalid_request


def call_arguments(call: FunctionCall, param: str) -> dict[str, Any]:
    """The canonical form keeps arguments as the model's JSON text; these wires
    take an object. Text that is not a JSON object is refused."""
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


def split_data_url(url: str, param: str) -> tuple[str, str]:
    """``data:<mime>;base64,<data>`` -> (mime, data); anything else is a 400."""
    head, sep, data = url[5:].partition(",") if url.startswith("data:") else ("", "", "")
    mime, _, encoding = head.partition(";")
    if not sep or encoding != "base64":
        raise invalid_request(f"Invalid data URL in '{param}': expected base64.", param=param)
    return mime, data
