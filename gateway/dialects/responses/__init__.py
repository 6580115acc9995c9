"""OpenAI Responses (``POST /v1/responses``).

``decode`` (request -> canonical), ``encode_response`` and ``StreamEncoder``
(canonical -> a ``response`` object / the Responses event stream), and the
error shape. See ``gateway.dialects`` for the contract.
"""

from gateway.dialects.base import Translator
from gateway.dialects.responses.decode import DIALECT, decode
from gateway.dialects.responses.encode import encode_response
from gateway.dialects.responses.errors import encode_error, encode_stream_error, error_body
from gateway.dialects.responses.stream import StreamEncoder
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
