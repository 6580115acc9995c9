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

What it does: keep-alive pooling with a cap on open connections
(``UPSTREAM_MAX_CONNECTIONS``; idle ones are dropped after 60 s), verified
TLS (``tls_context``), a connect timeout and a read timeout that bounds each
wait for bytes (a stream that keeps sending is never cut, a silent one is),
chunked and sized bodies, gzip and deflate answers (it asks for none), flow
control both ways, and one retry of a request whose *reused* connection had
been closed by the server before any byte of an answer came back (the usual
keep-alive race). No redirects, no proxies, no cookies: upstreams are APIs.

Callers see only this module's small interface and its exceptions.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import ssl
import zlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httptools
from django.conf import settings

KEEPALIVE_SECONDS = 60.0
# A reader that falls this far behind pauses the socket until it catches up.
HIGH_WATER = 256 * 1024


class UpstreamFailure(Exception):
    """Base of the transport failures below (not an HTTP error status)."""


class UpstreamTimeout(UpstreamFailure):
    pass


class UpstreamUnreachable(UpstreamFailure):
    """No connection could be made, or it broke before any answer."""


class UpstreamBroken(UpstreamFailure):
    """The answer started, then the connection failed mid-body."""


@functools.lru_cache(maxsize=256)
def _target(url: str) -> tuple[tuple[str, str, int], bytes]:
    """``(scheme, host, port)`` and the request's first two lines."""
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
    head = f"POST {path} HTTP/1.1\r\nhost: {shown}\r\n".encode()
    return (scheme, host, port), head


def _request_head(first_lines: bytes, headers: dict[str, str], body: bytes) -> bytes:
    lines = []
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"a newline in the value of upstream header {name!r}")
        lower = name.lower()
        if lower in ("content-length", "host", "transfer-encoding", "connection"):
            continue  # this module sets them
        lines.append(f"{name}: {value}\r\n")
    if not any(name.lower() == "accept-encoding" for name in headers):
        lines.append("accept-encoding: identity\r\n")
    lines.append(f"content-length: {len(body)}\r\n\r\n")
    return first_lines + "".join(lines).encode()


def tls_context() -> ssl.SSLContext:
    """Certificates and host names verified against the system's CAs,
    certifi's (when installed: slim images may lack the system's) and
    ``UPSTREAM_CA_BUNDLE``'s."""
    context = ssl.create_default_context()
    try:
        import certifi
    except ImportError:
        pass
    else:
        context.load_verify_locations(certifi.where())
    if settings.UPSTREAM_CA_BUNDLE:
        context.load_verify_locations(settings.UPSTREAM_CA_BUNDLE)
    return context


class _Connection(asyncio.Protocol):
    """One connection, one exchange at a time. httptools calls the ``on_*``
    methods as it parses; the answer's state lives here until the exchange
    ends (``finish``)."""

    def __init__(self, pool: _Pool, key: tuple[str, str, int]) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.uses = 0
        self.idle_since = 0.0
        self._writable: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.active = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.error: UpstreamFailure | None = None
        self.received = False  # any byte of an answer
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.decoder: Any = None
        self.last_activity = 0.0
        self.timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------- transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.active:  # bytes nobody asked for: the connection can't be trusted
            self.close()
            return
        self.received = True
        self.last_activity = self.pool.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamBroken(f"unreadable answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.active and not self.complete and self.headers_done and self._ends_with_connection():
            self.on_message_complete()
        if self.active and not self.complete:
            failure = UpstreamBroken if self.headers_done else UpstreamUnreachable
            self._fail(failure("the upstream closed the connection"))
        if self._writable is not None and not self._writable.done():
            self._writable.set_exception(UpstreamUnreachable("the upstream closed the connection"))

    def pause_writing(self) -> None:
        self._writable = self.pool.loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def _ends_with_connection(self) -> bool:
        """An answer with neither a length nor chunks ends where the connection does."""
        return "content-length" not in self.headers and "chunked" not in self.headers.get(
            "transfer-encoding", ""
        )

    # ---------------------------------------------------------------- parser

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = self.headers.get(key)
        self.headers[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if 100 <= self.status < 200:  # an interim answer: the real one follows
            self.headers = {}
            return
        encoding = self.headers.get("content-encoding", "identity").lower()
        if encoding in ("gzip", "x-gzip"):
            self.decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.decoder = zlib.decompressobj()
        elif encoding != "identity":
            self._fail(UpstreamBroken(f"unsupported content-encoding {encoding!r}"))
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.decoder is not None:
            try:
                body = self.decoder.decompress(body)
            except zlib.error:
                self._fail(UpstreamBroken("a compressed answer that does not decompress"))
                self.close()
                return
            if not body:
                return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.headers_done:
            return  # the end of an interim answer
        if self.decoder is not None:
            rest = self.decoder.flush()
            if rest:
                self.chunks.append(rest)
        self.keep_alive = self.parser.should_keep_alive()  # asked after this, httptools says no
        self.complete = True
        self._wake()

    # -------------------------------------------------------------- exchange

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: UpstreamFailure) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    async def send(self, head: bytes, body: bytes) -> None:
        self.active = True
        self.uses += 1
        self.last_activity = self.pool.loop.time()
        self.timer = self.pool.loop.call_at(self.last_activity + self.pool.read_timeout, self._on_timer)
        assert self.transport is not None
        self.transport.writelines((head, body))
        if self._writable is not None:  # a large body: wait for the kernel to take it
            try:
                async with asyncio.timeout(self.pool.read_timeout):
                    await self._writable
            except TimeoutError:
                raise UpstreamTimeout("the upstream stopped reading the request") from None

    def _on_timer(self) -> None:
        """The read timeout without a timer per read: one timer per exchange,
        moved on when it fires to the last activity (a byte in, or a reader
        starting to wait) plus the timeout. It fails the exchange only if a
        reader is waiting and nothing came for that long."""
        self.timer = None
        if self.closed or not self.active or self.complete or self.error is not None:
            return
        now = self.pool.loop.time()
        due = self.last_activity + self.pool.read_timeout
        if now >= due:
            if self.waiter is not None:
                self._fail(UpstreamTimeout("no bytes from the upstream within the read timeout"))
                self.close()
                return
            due = now + self.pool.read_timeout  # nobody is waiting: look again later
        self.timer = self.pool.loop.call_at(due, self._on_timer)

    async def wait(self) -> None:
        """Until there is news: bytes, the headers, the end, or a failure."""
        self.last_activity = self.pool.loop.time()
        waiter = self.waiter = self.pool.loop.create_future()
        try:
            await waiter
        finally:
            self.waiter = None

    def take(self) -> bytes:
        chunks = self.chunks
        if not chunks:
            return b""
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks = []
        self.buffered = 0
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()
        return data

    def finish(self) -> None:
        """The exchange is over: back to the pool if the answer was read to
        its end on a connection that stays open, else closed."""
        if self.timer is not None:
            self.timer.cancel()
        reusable = self.complete and self.keep_alive and self.error is None and not self.closed
        self._reset()
        if reusable:
            self.parser = httptools.HttpResponseParser(self)
            self.pool.release(self)
        else:
            self.close()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()
        self.pool.forget(self)


class _Pool:
    """Keep-alive connections of one event loop, by (scheme, host, port)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.idle: dict[tuple[str, str, int], collections.deque[_Connection]] = collections.defaultdict(
            collections.deque
        )
        self.open: set[_Connection] = set()
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.read_timeout = settings.UPSTREAM_READ_TIMEOUT
        self._ssl: ssl.SSLContext | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = tls_context()
        return self._ssl

    async def acquire(self, key: tuple[str, str, int]) -> _Connection:
        while True:
            idle = self.idle.get(key)
            now = self.loop.time()
            while idle:
                conn = idle.pop()  # the most recently used: the least likely to be closed
                if not conn.closed and now - conn.idle_since < KEEPALIVE_SECONDS:
                    return conn
                conn.close()
            if len(self.open) < settings.UPSTREAM_MAX_CONNECTIONS:
                return await self._connect(key)
            if self._close_an_idle_one():  # at the cap: an idle connection elsewhere makes room
                continue
            waiter = self.loop.create_future()
            self.waiting.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                self._pass_on(waiter)
                raise

    def _close_an_idle_one(self) -> bool:
        for idle in self.idle.values():
            if idle:
                idle.popleft().close()  # the oldest
                return True
        return False

    async def _connect(self, key: tuple[str, str, int]) -> _Connection:
        scheme, host, port = key
        conn = _Connection(self, key)
        self.open.add(conn)
        try:
            async with asyncio.timeout(settings.UPSTREAM_CONNECT_TIMEOUT):
                await self.loop.create_connection(
                    lambda: conn,
                    host,
                    port,
                    ssl=self._ssl_context() if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                )
        except TimeoutError:
            self.forget(conn)
            raise UpstreamTimeout(f"connecting to {host}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            self.forget(conn)
            raise UpstreamUnreachable(f"{exc.__class__.__name__} connecting to {host}:{port}") from None
        except BaseException:
            self.forget(conn)
            conn.close()
            raise
        return conn

    def release(self, conn: _Connection) -> None:
        conn.idle_since = self.loop.time()
        self.idle[conn.key].append(conn)
        self._wake_one()

    def forget(self, conn: _Connection) -> None:
        if conn in self.open:
            self.open.discard(conn)
            self._wake_one()

    def _wake_one(self) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _pass_on(self, waiter: asyncio.Future[None]) -> None:
        """A cancelled waiter that had been woken hands its turn on."""
        if waiter.done() and not waiter.cancelled():
            self._wake_one()
        elif waiter in self.waiting:
            self.waiting.remove(waiter)

    def close(self) -> None:
        for conn in list(self.open):
            conn.close()
        self.idle.clear()


class UpstreamResponse:
    """An answer whose body is read (``aread``) or streamed (``aiter_bytes``,
    ``read_any``) once, then ``aclose``d."""

    __slots__ = ("_conn", "headers", "status_code")

    def __init__(self, conn: _Connection) -> None:
        self._conn: _Connection | None = conn
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
        parts = []
        while chunk := await self.read_any():
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

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
        self._by_loop: dict[asyncio.AbstractEventLoop, _Pool] = {}

    def get(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._by_loop.get(loop)
        if pool is None:
            for other in [other for other in self._by_loop if other.is_closed()]:
                del self._by_loop[other]
            pool = self._by_loop[loop] = _Pool(loop)
        return pool

    async def close_current(self) -> None:
        pool = self._by_loop.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            pool.close()


clients = _Clients()


async def upstream_post(url: str, *, body: bytes, headers: dict[str, str]) -> UpstreamResponse:
    """POST and return once the status line and headers are in; the body is
    the caller's to read or stream, then ``aclose``."""
    key, first_lines = _target(url)
    head = _request_head(first_lines, headers, body)
    pool = clients.get()
    pool.read_timeout = settings.UPSTREAM_READ_TIMEOUT  # a settings change applies to the next call
    for attempt in (1, 2):
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
        if attempt == 1 and reused and not received and isinstance(error, UpstreamUnreachable):
            continue  # the server had closed this idle connection: once more, on a new one
        raise error
    raise AssertionError("unreachable")
