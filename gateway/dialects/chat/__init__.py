"""OpenAI Chat Completions (``POST /v1/chat/completions``).

``decode`` (request -> canonical) and the error shape.
"""

from gateway.dialects.chat.decode import DIALECT, decode
from gateway.dialects.chat.errors import encode_error, encode_stream_error, error_body

__all__ = [
    "DIALECT",
    "decode",
    "encode_error",
    "encode_stream_error",
    "error_body",
]
