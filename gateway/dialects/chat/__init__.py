"""OpenAI Chat Completions (``POST /v1/chat/completions``).

``decode`` (request -> canonical), ``encode_response`` and ``StreamEncoder``
(canonical -> ``chat.completion`` / ``chat.completion.chunk``), and the error
shape. See ``gateway.dialects`` for the contract.
"""

from gateway.dialects.base import Translator
from gateway.dialects.chat.decode import _ROLES as _ROLES  # kept importable as before the split
from gateway.dialects.chat.decode import DIALECT, decode
from gateway.dialects.chat.encode import StreamEncoder, encode_response
from gateway.dialects.chat.errors import encode_error, encode_stream_error, error_body
from gateway.dialects.splice import annotate

TRANSLATOR = Translator(encode_response=encode_response, stream_encoder=StreamEncoder)

__all__ = [
    "DIALECT",
    "TRANSLATOR",
    "StreamEncoder",
    "annotate",
    "decode",
    "encode_error",
    "encode_response",
    "encode_stream_error",
    "error_body",
]
