"""OpenAI's images API (``/v1/images/generations``, ``/v1/images/edits``).

Not a chat-like dialect: an images call decodes to a ``gateway.canonical_images.ImageRequest``
(``request``), is checked per model (``params``) and answered from the
stored images (``answer``). It has no translator; its errors are OpenAI's
shape (the chat dialect's encoders). The module offers what a
``CallContext`` asks of its dialect.
"""

from __future__ import annotations

from gateway.canonical import Dialect
from gateway.dialects import chat
from gateway.dialects.base import Translator
from gateway.dialects.splice import annotate

DIALECT = Dialect.IMAGES
TRANSLATOR: Translator | None = None

error_body = chat.error_body
encode_error = chat.encode_error
encode_stream_error = chat.encode_stream_error
decode = chat.decode  # the protocol's; images calls use ``request.decode``

__all__ = ["DIALECT", "TRANSLATOR", "annotate", "decode", "encode_error", "encode_stream_error", "error_body"]
