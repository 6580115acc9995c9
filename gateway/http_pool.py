"""The transport under ``gateway.http``: keep-alive connections on asyncio
protocols, their answers parsed by httptools (C), pooled per event loop,
and the failures they report.

A ``Connection`` carries one exchange at a time; httptools calls its
``on_*`` methods as it parses, and the answer's state lives on it until the
exchange ends (``finish``): back to the ``Pool`` when the answer was read to
its end on a connection that stays open, else closed. A ``Pool`` caps the
open connections (``UPSTREAM_MAX_CONNECTIONS``), drops idle ones after
``KEEPALIVE_SECONDS``, verifies TLS (``tls_context``) and opens connections
through an egress proxy when the key names one (``gateway.proxies``: to the
proxy itself for http, a CONNECT tunnel and TLS inside it for https).
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import zlib
from typing import TYPE_CHECKING, Any

import httptools
from django.conf import settings

if TYPE_CHECKING:
    from gateway.proxies import Proxy

KEEPALIVE_SECONDS = 60.0
# A reader that falls this far behind pauses the socket until it catches up.
HIGH_WATER = 256 * 1024
# The longest answer a proxy may give to CONNECT.
PROXY_HEAD_LIMIT = 64 * 1024

# (scheme, host, port, the egress proxy or None): connections are pooled per key.
PoolKey = tuple[str, str, int, "Proxy | None"]


class UpstreamFailure(Exception):
    """Base of the transport failures below (not an HTTP error status)."""


class UpstreamTimeout(UpstreamFailure):
    pass


class UpstreamUnreachable(UpstreamFailure):
    """No connection could be made, or it broke before any answer."""


class UpstreamBroken(UpstreamFailure):
    """The answer started, then the connection failed mid-body."""


class UpstreamTooLarge(UpstreamFailure):
    """An answer read whole passed ``UPSTREAM_MAX_RESPONSE_BYTES``."""


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


class Connection(asyncio.Protocol):
    """One connection, one exchange at a time. httptools calls the ``on_*``
    methods as it parses; the answer's state lives here until the exchange
    ends (``finish``)."""

    def __init__(self, pool: Pool, key: PoolKey) -> None:
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


class _TunnelRequest(asyncio.Protocol):
    """The proxy's answer to CONNECT: ``answer`` is its status line."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.answer: asyncio.Future[str] = loop.create_future()
        self.received = b""

    def data_received(self, data: bytes) -> None:
        self.received += data
        end = self.received.find(b"\r\n\r\n")
        if end >= 0 and not self.answer.done():
            self.answer.set_result(self.received.split(b"\r\n", 1)[0].decode("latin-1"))
        elif len(self.received) > PROXY_HEAD_LIMIT and not self.answer.done():
            self.answer.set_exception(UpstreamUnreachable("the proxy's answer to CONNECT is too long"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answer.done():
            self.answer.set_exception(UpstreamUnreachable("the proxy closed the connection during CONNECT"))


class Pool:
    """Keep-alive connections of one event loop, by (scheme, host, port)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.idle: dict[PoolKey, collections.deque[Connection]] = collections.defaultdict(collections.deque)
        self.open: set[Connection] = set()
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.read_timeout = settings.UPSTREAM_READ_TIMEOUT
        self._ssl: ssl.SSLContext | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = tls_context()
        return self._ssl

    async def acquire(self, key: PoolKey) -> Connection:
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

    async def _connect(self, key: PoolKey) -> Connection:
        scheme, host, port, proxy = key
        conn = Connection(self, key)
        self.open.add(conn)
        where = (
            f"{host}:{port}" if proxy is None else f"{host}:{port} through proxy {proxy.host}:{proxy.port}"
        )
        try:
            async with asyncio.timeout(settings.UPSTREAM_CONNECT_TIMEOUT):
                if proxy is None:
                    await self.loop.create_connection(
                        lambda: conn,
                        host,
                        port,
                        ssl=self._ssl_context() if scheme == "https" else None,
                        server_hostname=host if scheme == "https" else None,
                    )
                elif scheme == "http":
                    await self.loop.create_connection(lambda: conn, proxy.host, proxy.port)
                else:
                    await self._tunnel(conn, host, port, proxy)
        except TimeoutError:
            self.forget(conn)
            raise UpstreamTimeout(f"connecting to {where} timed out") from None
        except UpstreamUnreachable:
            self.forget(conn)
            raise
        except OSError as exc:  # ssl.SSLError included
            self.forget(conn)
            raise UpstreamUnreachable(f"{exc.__class__.__name__} connecting to {where}") from None
        except BaseException:
            self.forget(conn)
            conn.close()
            raise
        return conn

    async def _tunnel(self, conn: Connection, host: str, port: int, proxy: Proxy) -> None:
        """CONNECT through the proxy, then TLS to the upstream inside the tunnel."""
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        request = f"CONNECT {authority} HTTP/1.1\r\nhost: {authority}\r\n"
        if proxy.authorization:
            request += f"proxy-authorization: {proxy.authorization}\r\n"
        transport, tunnel = await self.loop.create_connection(
            lambda: _TunnelRequest(self.loop), proxy.host, proxy.port
        )
        try:
            transport.write(f"{request}\r\n".encode())
            status_line = await tunnel.answer
            fields = status_line.split(" ", 2)
            if len(fields) < 2 or fields[1] != "200":
                raise UpstreamUnreachable(
                    f"proxy {proxy.host}:{proxy.port} refused the tunnel to {authority}: {status_line!r}"
                )
            tls = await self.loop.start_tls(transport, conn, self._ssl_context(), server_hostname=host)
        except BaseException:
            transport.abort()
            raise
        assert tls is not None
        conn.connection_made(tls)

    def release(self, conn: Connection) -> None:
        conn.idle_since = self.loop.time()
        self.idle[conn.key].append(conn)
        self._wake_one()

    def forget(self, conn: Connection) -> None:
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
