"""Anthropic Messages (``POST /v1/messages``) as an inbound dialect.

``decode`` reads the Messages body into the canonical request,
``encode_response`` / ``StreamEncoder`` write the Message object and its event
stream, ``encode_error`` / ``encode_stream_error`` the error shapes.
"""

from gateway.dialects.base import Translator
from gateway.dialects.messages.decode import DIALECT, decode
from gateway.dialects.messages.encode import StreamEncoder, encode_response
from gateway.dialects.messages.errors import ERROR_TYPES, encode_error, encode_stream_error, error_body
from gateway.dialects.splice import annotate

TRANSLATOR = Translator(encode_response=encode_response, stream_encoder=StreamEncoder)

__all__ = [
    "DIALECT",
    "ERROR_TYPES",
    "TRANSLATOR",
    "StreamEncoder",
    "annotate",
    "decode",
    "encode_error",
    "encode_response",
    "encode_stream_error",
    "error_body",
]
