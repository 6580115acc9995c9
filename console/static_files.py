"""WhiteNoise under ASGI.

WhiteNoise's middleware is synchronous and answers with a file iterator;
Django's ASGI handler can only consume a sync iterator by warning and
buffering it. Under ASGI this subclass hands the handler an async iterator
instead, which reads the (small, static) file in one worker-thread hop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from whitenoise.middleware import WhiteNoiseFileResponse
from whitenoise.middleware import WhiteNoiseMiddleware as _WhiteNoiseMiddleware


async def _read_in_thread(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    yield await asyncio.to_thread(b"".join, chunks)


class WhiteNoiseMiddleware(_WhiteNoiseMiddleware):
    def __call__(self, request: HttpRequest):
        response = super().__call__(request)
        if (
            isinstance(request, ASGIRequest)
            and isinstance(response, WhiteNoiseFileResponse)
            and not response.is_async
        ):
            response.streaming_content = _read_in_thread(response.streaming_content)
        return response
