"""Responses errors: the same ``{"error": {...}}`` body as Chat Completions, and
the Responses ``error`` stream event."""

from __future__ import annotations

import msgspec

from gateway.dialects.chat.errors import encode_error, error_body
from gateway.errors import GatewayError

__all__ = ["encode_error", "encode_stream_error", "error_body"]


def encode_stream_error(err: GatewayError, request_id: str, sequence_number: int = 0) -> bytes:
    """Mid-stream failure: the Responses ``error`` event, then the stream ends."""
    data = {
        "type": "error",
        "code": err.code or str(err.type),
        "message": err.message,
        "param": err.param,
        "sequence_number": sequence_number,
        "request_id": request_id,
    }
    return b"event: error\ndata: " + msgspec.json.encode(data) + b"\n\n"
