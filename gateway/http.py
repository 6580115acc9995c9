"""The one place upstream HTTP happens: a pooled aiohttp session per event loop.

httpx was the first choice; ``bench/`` measured its connection pool as the
hot path's bottleneck (httpcore assigns requests to connections in time
quadratic in the pool size: 1,876 us of CPU per request at concurrency 16
against aiohttp's 155 us, see bench/README.md), so upstream calls use
aiohttp. Callers see only this module's small interface and its three
exceptions, never the client library's types.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator

import aiohttp
from django.conf import settings


class UpstreamFailure(Exception):
    """Base of the transport failures below (not an HTTP error status)."""


class UpstreamTimeout(UpstreamFailure):
    pass


class UpstreamUnreachable(UpstreamFailure):
    """No connection could be made, or it broke before any answer."""


class UpstreamBroken(UpstreamFailure):
    """The answer started, then the connection failed mid-body."""


_TIMEOUT_ERRORS = (asyncio.TimeoutError, aiohttp.ServerTimeoutError)


class UpstreamResponse:
    """An answer whose body is read (``aread``) or streamed (``aiter_bytes``) once."""

    __slots__ = ("_done", "_resp", "headers", "status_code")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self._done = False
        self.status_code = resp.status
        self.headers = {k.lower(): v for k, v in resp.headers.items()}

    async def aread(self) -> bytes:
        try:
            body = await self._resp.read()
        except _TIMEOUT_ERRORS:
            raise UpstreamTimeout from None
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(exc.__class__.__name__) from None
        self._done = True
        return body

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Bytes as they arrive (no re-chunking, no waiting for a buffer to fill)."""
        try:
            async for chunk in self._resp.content.iter_any():
                yield chunk
        except _TIMEOUT_ERRORS:
            raise UpstreamTimeout from None
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(exc.__class__.__name__) from None
        self._done = True

    async def read_any(self) -> bytes:
        """The bytes that have arrived, once some have (``b""`` at the end):
        ``aiter_bytes`` one call at a time, without an iterator per chunk."""
        try:
            chunk = await self._resp.content.readany()
        except _TIMEOUT_ERRORS:
            raise UpstreamTimeout from None
        except aiohttp.ClientError as exc:
            raise UpstreamBroken(exc.__class__.__name__) from None
        if not chunk:
            self._done = True
        return chunk

    async def aclose(self) -> None:
        # A fully read answer returns its connection to the pool; one abandoned
        # half-way (client gone) must drop it, or the pool would reuse a
        # connection with unread bytes on it.
        if self._done:
            self._resp.release()
        else:
            self._resp.close()


def upstream_timeout() -> aiohttp.ClientTimeout:
    """Read per request, so a settings change applies without a new session.
    ``sock_read`` bounds each wait for bytes, so a slow stream that keeps
    sending is never cut, and a silent one is."""
    return aiohttp.ClientTimeout(
        total=None, sock_connect=settings.UPSTREAM_CONNECT_TIMEOUT, sock_read=settings.UPSTREAM_READ_TIMEOUT
    )


def _new_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=settings.UPSTREAM_MAX_CONNECTIONS, limit_per_host=0, keepalive_timeout=60, ttl_dns_cache=300
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=upstream_timeout(),
        auto_decompress=True,
        trust_env=False,
        skip_auto_headers=("User-Agent",),
    )


class _Sessions:
    """Sessions are bound to the loop that made them; a process normally has one."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._by_loop.get(loop)
        if session is None or session.closed:
            session = _new_session()
            self._by_loop[loop] = session
        return session

    async def close_current(self) -> None:
        session = self._by_loop.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()


clients = _Sessions()


async def upstream_post(url: str, *, body: bytes, headers: dict[str, str]) -> UpstreamResponse:
    """POST and return once the status line and headers are in; the body is
    the caller's to read or stream, then ``aclose``."""
    try:
        resp = await clients.get().post(
            url, data=body, headers=headers, timeout=upstream_timeout(), allow_redirects=False
        )
    except _TIMEOUT_ERRORS:
        raise UpstreamTimeout from None
    except aiohttp.ClientError as exc:
        raise UpstreamUnreachable(exc.__class__.__name__) from None
    return UpstreamResponse(resp)
