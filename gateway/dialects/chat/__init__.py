"""OpenAI Chat Completions (``POST /v1/chat/completions``).

``decode`` (request -> canonical), ``encode_response`` and ``StreamEncoder``
(canonical -> ``chat.completion`` / ``chat.completion.chunk``), and the error
shape. See ``gateway.dialects`` for the contract.
"""

from gateway.dialects.chat.decode import _ROLES as _ROLES  # kept importable as before the split
from gateway.dialects.chat.decode import DIALECT, decode
from gateway.dialects.chat.encode import StreamEncoder, encode_response
from gateway.dialects.chat.errors import encode_error, encode_stream_error, error_body

__all__ = [
    "DIALECT",
    "StreamEncoder",
    "decode",
    "encode_error",
    "encode_response",
    "encode_stream_error",
    "error_body",
]
