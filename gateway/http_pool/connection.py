"""One upstream connection: an asyncio protocol whose answer httptools parses."""

from __future__ import annotations

import asyncio
import zlib
from typing import TYPE_CHECKING, Any

import httptools

from gateway.http_pool.failures import (
    UpstreamBroken,
    UpstreamFailure,
    UpstreamTimeout,
    UpstreamUnreachable,
)

if TYPE_CHECKING:
    from gateway.http_pool.pool import Pool
    from gateway.proxies import Proxy

# A reader that falls this far behind pauses the socket until it catches up.
HIGH_WATER = 256 * 1024

# (scheme, host, port, the egress proxy or None): connections are pooled per key.
PoolKey = tuple[str, str, int, "Proxy | None"]


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
