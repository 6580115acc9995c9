"""The OpenAI error shape, shared by the Chat Completions and Responses surfaces."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.errors import GatewayError


def error_body(err: GatewayError, request_id: str) -> dict[str, Any]:
    """OpenAI's ``{"error": {...}}`` with Junction's extra fields inside it."""
    body: dict[str, Any] = {
        "message": err.message,
        "type": str(err.type),
        "param": err.param,
        "code": err.code,
        "request_id": request_id,
        "http_status": err.status,
        "provider": err.provider,
        "raw": err.raw,
    }
    if err.rule_trace is not None:
        body["rule_trace"] = err.rule_trace
    return {"error": body}


def encode_error(err: GatewayError, request_id: str) -> bytes:
    return msgspec.json.encode(error_body(err, request_id))


def encode_stream_error(err: GatewayError, request_id: str) -> bytes:
    """Mid-stream failure: a ``data: {"error": ...}`` event (the SDK raises
    ``APIError`` on it), then the stream ends."""
    return b"data: " + encode_error(err, request_id) + b"\n\n"
