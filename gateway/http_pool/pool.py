"""Keep-alive connections of one event loop: the pool, TLS, and CONNECT tunnels."""

from __future__ import annotations

import asyncio
import collections
import ssl
from typing import TYPE_CHECKING

from django.conf import settings

from gateway.http_pool.connection import Connection, PoolKey
from gateway.http_pool.failures import UpstreamTimeout, UpstreamUnreachable

if TYPE_CHECKING:
    from gateway.proxies import Proxy

KEEPALIVE_SECONDS = 60.0
# The longest answer a proxy may give to CONNECT.
PROXY_HEAD_LIMIT = 64 * 1024


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
