"""The one place upstream HTTP happens: a small HTTP/1.1 client, pooled per
event loop, on asyncio protocols with httptools' C parser.

Upstream calls are all of one shape (a POST with a body in hand, an answer
read whole or streamed as it arrives), and they are on every request's hot
path, so the client is built for exactly that. httpx was measured first (its
pool costs time quadratic in its size), then aiohttp, which spent ~20 % of
the event loop's time at 16 concurrent calls building requests and feeding
its stream readers (bench/README.md). Here a request is one
``transport.write`` of bytes formatted in one go, an answer is parsed in C,
and a body chunk is one list append and, when a reader waits, one future.

What it does (the transport, connections and their pool, is in
``gateway.http_pool``): keep-alive pooling with a cap on open connections
(``UPSTREAM_MAX_CONNECTIONS``; idle ones are dropped after 60 s), verified
TLS (``tls_context``), a connect timeout and a read timeout that bounds each
wait for bytes (a stream that keeps sending is never cut, a silent one is),
chunked and sized bodies, gzip and deflate answers (it asks for none), flow
control both ways, and one retry of a request whose *reused* connection had
been closed by the server before any byte of an answer came back (the usual
keep-alive race). Egress proxies as curl and httpx take them
(``gateway.proxies``: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY``; a
CONNECT tunnel for https, the absolute form for http). An answer read whole
(``aread``) is capped at ``UPSTREAM_MAX_RESPONSE_BYTES``. No redirects, no
cookies: upstreams are APIs.

Callers see only this module's small interface and its exceptions.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from django.conf import settings

from gateway.http_pool.connection import Connection, PoolKey
from gateway.http_pool.failures import (
    UpstreamBroken,
    UpstreamFailure,
    UpstreamTimeout,
    UpstreamTooLarge,
    UpstreamUnreachable,
)
from gateway.http_pool.pool import Pool
from gateway.proxies import ProxySettings, proxy_for

__all__ = [
    "UpstreamBroken",
    "UpstreamFailure",
    "UpstreamResponse",
    "UpstreamTimeout",
    "UpstreamTooLarge",
    "UpstreamUnreachable",
    "clients",
    "upstream_post",
]


@functools.lru_cache(maxsize=256)
def _target(url: str, proxies: ProxySettings) -> tuple[PoolKey, bytes]:
    """The pool key (scheme, host, port, proxy) and the request's first lines."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamUnreachable(f"unsupported upstream URL {url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    if port != (443 if scheme == "https" else 80):
        shown = f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = proxy_for(scheme, host, port, proxies)
    if proxy is not None and scheme == "http":
        # Through the proxy in the absolute form; https goes through a tunnel
        # (http_pool), inside which the request is as usual.
        head = f"POST http://{shown}{path} HTTP/1.1\r\nhost: {shown}\r\n"
        if proxy.authorization:
            head += f"proxy-authorization: {proxy.authorization}\r\n"
        return (scheme, host, port, proxy), head.encode()
    return (scheme, host, port, proxy), f"POST {path} HTTP/1.1\r\nhost: {shown}\r\n".encode()


def _request_head(first_lines: bytes, headers: dict[str, str], body: bytes) -> bytes:
    lines = []
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"a newline in the value of upstream header {name!r}")
        lower = name.lower()
        if lower in ("content-length", "host", "transfer-encoding", "connection", "proxy-authorization"):
            continue  # this module sets them
        lines.append(f"{name}: {value}\r\n")
    if not any(name.lower() == "accept-encoding" for name in headers):
        lines.append("accept-encoding: identity\r\n")
    lines.append(f"content-length: {len(body)}\r\n\r\n")
    return first_lines + "".join(lines).encode()


class UpstreamResponse:
    """An answer whose body is read (``aread``) or streamed (``aiter_bytes``,
    ``read_any``) once, then ``aclose``d."""

    __slots__ = ("_conn", "headers", "status_code")

    def __init__(self, conn: Connection) -> None:
        self._conn: Connection | None = conn
        self.status_code = conn.status
        self.headers = conn.headers

    async def read_any(self) -> bytes:
        """The bytes that have arrived, once some have (``b""`` at the end)."""
        conn = self._conn
        if conn is None:
            return b""
        while True:
            if conn.chunks:
                return conn.take()
            if conn.error is not None:
                raise conn.error
            if conn.complete:
                return b""
            await conn.wait()

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Bytes as they arrive (no re-chunking, no waiting for a buffer to fill)."""
        while chunk := await self.read_any():
            yield chunk

    async def aread(self) -> bytes:
        """The whole answer; ``UpstreamTooLarge`` (and the connection closed)
        past ``UPSTREAM_MAX_RESPONSE_BYTES``."""
        cap = settings.UPSTREAM_MAX_RESPONSE_BYTES
        declared = self.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            self._too_large(cap)
        parts = []
        size = 0
        while chunk := await self.read_any():
            size += len(chunk)
            if size > cap:
                self._too_large(cap)
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _too_large(self, cap: int) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        raise UpstreamTooLarge(
            f"the upstream's answer exceeds UPSTREAM_MAX_RESPONSE_BYTES ({cap} bytes); not read further"
        )

    async def aclose(self) -> None:
        # A fully read answer returns its connection to the pool; one abandoned
        # half-way (client gone) is closed, or the pool would reuse a
        # connection with unread bytes on it.
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.finish()


class _Clients:
    """One pool per event loop (a process normally has one loop)."""

    def __init__(self) -> None:
        self._by_loop: dict[asyncio.AbstractEventLoop, Pool] = {}

    def get(self) -> Pool:
        loop = asyncio.get_running_loop()
        pool = self._by_loop.get(loop)
        if pool is None:
            for other in [other for other in self._by_loop if other.is_closed()]:
                del self._by_loop[other]
            pool = self._by_loop[loop] = Pool(loop)
        return pool

    async def close_current(self) -> None:
        pool = self._by_loop.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            pool.close()


clients = _Clients()


async def upstream_post(url: str, *, body: bytes, headers: dict[str, str]) -> UpstreamResponse:
    """POST and return once the status line and headers are in; the body is
    the caller's to read or stream, then ``aclose``."""
    key, first_lines = _target(url, ProxySettings.current())
    head = _request_head(first_lines, headers, body)
    pool = clients.get()
    pool.read_timeout = settings.UPSTREAM_READ_TIMEOUT  # a settings change applies to the next call
    may_retry = True
    while True:
        conn = await pool.acquire(key)
        try:
            await conn.send(head, body)
            while not conn.headers_done and conn.error is None:
                await conn.wait()
        except BaseException:
            conn.close()
            raise
        if conn.error is None:
            return UpstreamResponse(conn)
        error, reused, received = conn.error, conn.uses > 1, conn.received
        conn.finish()
        if may_retry and reused and not received and isinstance(error, UpstreamUnreachable):
            may_retry = False
            continue  # the server had closed this idle connection: once more, on a new one
        raise error
