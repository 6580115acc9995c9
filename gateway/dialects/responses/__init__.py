"""OpenAI Responses (``POST /v1/responses``).

``decode`` (request -> canonical) and the error shape.
"""

from gateway.dialects.responses.decode import DIALECT, decode
from gateway.dialects.responses.errors import encode_error, encode_stream_error, error_body

__all__ = [
    "DIALECT",
    "decode",
    "encode_error",
    "encode_stream_error",
    "error_body",
]
