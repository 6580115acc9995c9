"""Junction errors in Anthropic's shape: ``{"type": "error", "error": {...},
"request_id": ...}``, the one place ErrorType maps to Anthropic's type names."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.errors import ErrorType, GatewayError
from gateway.sse import encode_event

ERROR_TYPES: dict[ErrorType, str] = {
    ErrorType.INVALID_REQUEST: "invalid_request_error",
    ErrorType.CONTEXT_LENGTH: "invalid_request_error",
    ErrorType.FIREWALL_BLOCKED: "invalid_request_error",
    ErrorType.UNPROCESSABLE: "invalid_request_error",
    ErrorType.CONFLICT: "invalid_request_error",
    ErrorType.ROUTING: "invalid_request_error",
    ErrorType.AUTHENTICATION: "authentication_error",
    ErrorType.PERMISSION: "permission_error",
    ErrorType.NOT_FOUND: "not_found_error",
    ErrorType.MODEL_NOT_FOUND: "not_found_error",
    ErrorType.REQUEST_TOO_LARGE: "request_too_large",
    ErrorType.RATE_LIMIT: "rate_limit_error",
    ErrorType.INSUFFICIENT_QUOTA: "billing_error",
    ErrorType.UPSTREAM: "api_error",
    ErrorType.INTERNAL: "api_error",
    ErrorType.TIMEOUT: "timeout_error",
    ErrorType.OVERLOADED: "overloaded_error",
}


def error_body(err: GatewayError, request_id: str) -> dict[str, Any]:
    inner: dict[str, Any] = {
        "type": ERROR_TYPES.get(err.type, "api_error"),
        "message": err.message,
        # Junction's own fields, inside the error object like the OpenAI shape.
        "junction_type": str(err.type),
        "code": err.code,
        "param": err.param,
        "http_status": err.status,
        "provider": err.provider,
        "raw": err.raw,
        "request_id": request_id,
    }
    if err.rule_trace is not None:
        inner["rule_trace"] = err.rule_trace
    return {"type": "error", "error": inner, "request_id": request_id}


def encode_error(err: GatewayError, request_id: str) -> bytes:
    return msgspec.json.encode(error_body(err, request_id))


def encode_stream_error(err: GatewayError, request_id: str) -> bytes:
    """``event: error`` (the SDK raises an ``APIStatusError`` on it); the stream ends."""
    return encode_event(encode_error(err, request_id), event="error")
