"""A small pipelined asyncio Redis client for the /v1 hot path.

The rate limiter makes one script call per model call. redis-py's asyncio
client takes a connection from a pool per command (a lock, a liveness probe
that waits a loop turn, observability hooks, then a release under the lock):
~90 us of CPU and, under load, several loop turns per call. Here one
connection per event loop carries every call: a command is one
``transport.write`` and one future; hiredis parses replies in C and they are
matched to callers in order (Redis answers a connection's commands in the
order sent). ~17 us of CPU per call (bench/README.md).

Only what the limiter needs: ``EVALSHA`` with a fall back to ``EVAL`` when
the server does not know the script (``NOSCRIPT``: a restart or ``SCRIPT
FLUSH``), ``redis://`` and ``rediss://`` URLs with username, password and
database. A broken connection fails the calls waiting on it with
``RedisUnavailable``; the next call connects again. A call whose connection
closed under it (a Redis restart, an idle connection dropped by a proxy) is
sent once more on a new one, as redis-py's default retry does: a script that
ran before the close then counts twice, which a rate limit can afford. A reply that takes longer
than ``timeout`` seconds closes the connection (so a hung server fails calls
instead of stalling them).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis


class RedisUnavailable(ConnectionError):
    """The connection failed, closed, or a reply timed out."""


class RedisConnectionLost(RedisUnavailable):
    """The connection closed with the call's reply outstanding (retried once)."""


class RedisReplyError(Exception):
    """Redis answered with an error reply."""


def encode_command(args: tuple[Any, ...]) -> bytes:
    """RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int) and not isinstance(arg, bool):
            data = b"%d" % arg
        else:
            raise TypeError(f"Redis arguments are bytes, str or int, not {type(arg).__name__}")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self, client: PipelinedRedis) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader(replyError=RedisReplyError)
        # (future, monotonic time sent); replies arrive in this order
        self.waiting: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        # Commands sent in one turn of the event loop go out in one write at its
        # end (``flush``): one system call for all the calls admitted together.
        self.outgoing: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.waiting
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError as exc:
                self.abort(RedisUnavailable(f"Redis protocol error: {exc}"))
                return
            if reply is False:
                return
            if not waiting:  # a reply nobody asked for: the stream is out of step
                self.abort(RedisUnavailable("Redis sent an unexpected reply."))
                return
            future, _ = waiting.popleft()
            if not future.done():  # a caller that gave up (cancelled) just drops its reply
                if isinstance(reply, RedisReplyError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(
            RedisConnectionLost(f"Redis connection lost: {exc}" if exc else "Redis closed the connection.")
        )
        self.client._lost(self)

    def send(self, command: bytes) -> None:
        self.outgoing.append(command)
        if len(self.outgoing) == 1:
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        outgoing, self.outgoing = self.outgoing, []
        if self.transport is not None and outgoing:  # lost meanwhile: its callers were failed
            self.transport.write(outgoing[0] if len(outgoing) == 1 else b"".join(outgoing))

    def abort(self, exc: Exception) -> None:
        """Fail what waits and drop the connection now (``connection_lost``
        comes a loop turn later; no new command may go out on it meanwhile)."""
        transport, self.transport = self.transport, None
        self.client._lost(self)
        self._fail(exc)
        if transport is not None:
            transport.abort()

    def _fail(self, exc: Exception) -> None:
        while self.waiting:
            future, _ = self.waiting.popleft()
            if not future.done():
                future.set_exception(exc)


class PipelinedRedis:
    """One Redis connection, shared by every caller on one event loop."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"Unsupported Redis URL scheme '{parts.scheme}' (redis:// or rediss://).")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.tls = parts.scheme == "rediss"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        path = parts.path.strip("/")
        self.db = int(path) if path else 0
        self.timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ commands

    async def execute(self, *args: Any) -> Any:
        command = encode_command(args)
        try:
            return await self._send(await self._connection(), command)
        except RedisConnectionLost:  # closed under the call: once more, on a new connection
            return await self._send(await self._connection(), command)

    async def evalsha(self, script: Script, keys: list[Any], args: list[Any]) -> Any:
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self.execute("EVAL", script.source, len(keys), *keys, *args)

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.abort(RedisUnavailable("The Redis client was closed."))

    # ---------------------------------------------------------- internals

    async def _connection(self) -> _Protocol:
        protocol = self._protocol
        if protocol is None or protocol.transport is None:
            protocol = await self._connect()
        return protocol

    def _send(self, protocol: _Protocol, command: bytes) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if protocol.transport is None:
            raise RedisConnectionLost("Redis connection lost.")
        protocol.waiting.append((future, loop.time()))
        protocol.send(command)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self.timeout, self._check_timeouts)
        return future

    def _check_timeouts(self) -> None:
        """Close the connection when its oldest outstanding reply is overdue."""
        self._watchdog = None
        protocol = self._protocol
        if protocol is None or not protocol.waiting:
            return
        loop = asyncio.get_running_loop()
        _, sent = protocol.waiting[0]
        overdue = sent + self.timeout - loop.time()
        if overdue <= 0:
            protocol.abort(RedisUnavailable(f"Redis did not answer within {self.timeout:g}s."))
            return
        self._watchdog = loop.call_later(overdue, self._check_timeouts)

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            loop = asyncio.get_running_loop()
            self._connecting = loop.create_future()
            connecting = self._connecting
            try:
                protocol = await asyncio.wait_for(self._open(), self.timeout)
            except BaseException as exc:
                self._connecting = None
                if isinstance(exc, RedisReplyError):  # AUTH or SELECT refused
                    failure: Exception = exc
                else:
                    failure = RedisUnavailable(f"Redis is unreachable: {exc!r}")
                connecting.set_exception(failure)
                connecting.exception()  # retrieved: waiters (if any) get it too
                if isinstance(exc, (asyncio.CancelledError, RedisReplyError)):
                    raise  # this caller was cancelled: it stays cancelled
                raise failure from exc
            self._connecting = None
            self._protocol = protocol
            connecting.set_result(protocol)
            return protocol
        return await asyncio.shield(self._connecting)

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        context = ssl.create_default_context() if self.tls else None
        _, protocol = await loop.create_connection(lambda: _Protocol(self), self.host, self.port, ssl=context)
        try:
            if self.password is not None:
                auth = ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
                await self._send(protocol, encode_command(auth))
            if self.db:
                await self._send(protocol, encode_command(("SELECT", self.db)))
        except BaseException:
            protocol.abort(RedisUnavailable("Redis connection setup failed."))
            raise
        return protocol

    def _lost(self, protocol: _Protocol) -> None:
        if self._protocol is protocol:
            self._protocol = None


class Script:
    """A Lua script called by its SHA1 (``EVALSHA``), loaded on first miss."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
