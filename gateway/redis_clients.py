"""Redis for the web processes: one client library (redis-py, replies parsed
by hiredis), short timeouts, and what a process does while Redis is away.

Redis is optional at runtime: every use has a fallback (docs/architecture.md,
"Redis"), so a dead or frozen Redis costs no call more than
``REDIS_TIMEOUT`` once, and then nothing:

- after a failure the process marks Redis *down*; while it is down callers
  take their fallback at once (nobody waits on a timeout), and a background
  ``PING`` (at most every ``REDIS_RETRY_SECONDS``) finds it back, so the
  process recovers by itself;
- writes that must not be lost while Redis is away (a revoked key's entry
  deleted, a firewall policy version bumped) are kept and retried by a
  background thread until Redis answers (``write_later``);
- ``failures`` counts Redis failures per use and ``fallbacks`` the calls
  that took their fallback (``/healthz`` shows both).

Clients: one asyncio client per event loop (``async_client``) and one
thread-safe client per process (``sync_client``), both with
``REDIS_CONNECT_TIMEOUT`` / ``REDIS_TIMEOUT`` and one retry only for a
connection found closed (the usual idle-connection race), never for a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import redis
import redis.asyncio as aredis
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger("junction.redis")

T = TypeVar("T")

# What Redis failing looks like from redis-py and the socket layer.
REDIS_ERRORS: Final = (redis.RedisError, OSError, TimeoutError)


class _Unavailable:
    """The answer of a call made while Redis is down (take the fallback)."""

    def __repr__(self) -> str:
        return "UNAVAILABLE"


UNAVAILABLE: Final = _Unavailable()


def enabled() -> bool:
    return bool(settings.REDIS_URL)


def key(*parts: object) -> str:
    """A key under this deployment's prefix (``CACHE_KEY_PREFIX``)."""
    return ":".join((settings.CACHE_KEY_PREFIX, *map(str, parts)))


def _options() -> dict[str, Any]:
    return {
        "socket_timeout": settings.REDIS_TIMEOUT,
        "socket_connect_timeout": settings.REDIS_CONNECT_TIMEOUT,
        "retry_on_timeout": False,
        "health_check_interval": 0,
    }


class RedisLink:
    """This process's clients and its view of whether Redis is up."""

    def __init__(self) -> None:
        # Clients remember the URL they were made for (a settings change makes new ones).
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[str, aredis.Redis]] = (
            weakref.WeakKeyDictionary()
        )
        self._sync: tuple[str, redis.Redis] | None = None
        self._lock = threading.Lock()
        self.down_since: float | None = None  # unix time of the first failure of this outage
        self.last_error = ""
        self._next_probe = 0.0  # monotonic
        self._probing = False
        self._probe_task: asyncio.Task[None] | None = None
        self.failures: Counter[str] = Counter()
        self.fallbacks: Counter[str] = Counter()
        self._pending: list[tuple[str, Callable[[redis.Redis], Any]]] = []
        self._writer: threading.Thread | None = None

    # ------------------------------------------------------------- clients

    def async_client(self) -> aredis.Redis:
        loop = asyncio.get_running_loop()
        made = self._async.get(loop)
        if made is None or made[0] != settings.REDIS_URL:
            client = aredis.Redis.from_url(
                settings.REDIS_URL,
                retry=AsyncRetry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
                **_options(),
            )
            made = self._async[loop] = (settings.REDIS_URL, client)
        return made[1]

    def sync_client(self) -> redis.Redis:
        with self._lock:
            if self._sync is None or self._sync[0] != settings.REDIS_URL:
                client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
                    **_options(),
                )
                self._sync = (settings.REDIS_URL, client)
            return self._sync[1]

    # -------------------------------------------------------------- state

    @property
    def up(self) -> bool:
        return self.down_since is None

    def usable(self) -> bool:
        """Configured and not known to be down. While down, this starts a
        background probe when one is due (callers never wait for it)."""
        if not enabled():
            return False
        if self.down_since is None:
            return True
        if not self._probing and time.monotonic() >= self._next_probe:
            self._start_probe()
        return False

    def failed(self, use: str, exc: BaseException) -> None:
        self.failures[use] += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._next_probe = time.monotonic() + settings.REDIS_RETRY_SECONDS
        if self.down_since is None:
            self.down_since = time.time()
            logger.warning(
                "Redis unavailable (%s, during %s): falling back until it answers again", self.last_error, use
            )

    def recovered(self) -> None:
        if self.down_since is not None:
            logger.warning("Redis answers again after %.1fs", time.time() - self.down_since)
            self.down_since = None

    def _start_probe(self) -> None:
        self._probing = True
        self._next_probe = time.monotonic() + settings.REDIS_RETRY_SECONDS
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            threading.Thread(target=self._probe_sync, name="redis-probe", daemon=True).start()
            return
        self._probe_task = loop.create_task(self._probe_async())

    async def _probe_async(self) -> None:
        try:
            await self.async_client().ping()
        except REDIS_ERRORS as exc:
            self.failed("probe", exc)
        else:
            self.recovered()
        finally:
            self._probing = False

    def _probe_sync(self) -> None:
        try:
            self.ping("probe")
        finally:
            self._probing = False

    def ping(self, use: str = "ping") -> bool:
        """A synchronous check (``/healthz``, ``/readyz``, the probe thread)."""
        if not enabled():
            return False
        try:
            self.sync_client().ping()
        except REDIS_ERRORS as exc:
            self.failed(use, exc)
            return False
        self.recovered()
        return True

    # ------------------------------------------------------------ calls

    async def run(self, use: str, op: Callable[[aredis.Redis], Awaitable[T]]) -> T | _Unavailable:
        """``op`` on this loop's client, or ``UNAVAILABLE`` (at once while Redis is down)."""
        if not self.usable():
            self.fallbacks[use] += 1
            return UNAVAILABLE
        try:
            result = await op(self.async_client())
        except REDIS_ERRORS as exc:
            self.failed(use, exc)
            self.fallbacks[use] += 1
            return UNAVAILABLE
        return result

    def run_sync(self, use: str, op: Callable[[redis.Redis], T]) -> T | _Unavailable:
        if not self.usable():
            return UNAVAILABLE
        try:
            return op(self.sync_client())
        except REDIS_ERRORS as exc:
            self.failed(use, exc)
            return UNAVAILABLE

    def write_later(self, use: str, op: Callable[[redis.Redis], Any]) -> None:
        """A write that must reach Redis: now if it can, else retried by a
        background thread every ``REDIS_RETRY_SECONDS`` until Redis answers
        (kept in this process's memory only)."""
        if self.run_sync(use, op) is not UNAVAILABLE:
            return
        with self._lock:
            self._pending.append((use, op))
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write_pending, name="redis-writes", daemon=True)
                self._writer.start()

    def _write_pending(self) -> None:
        while True:
            time.sleep(settings.REDIS_RETRY_SECONDS)
            with self._lock:
                pending, self._pending = self._pending, []
            failed = []
            for use, op in pending:
                try:
                    op(self.sync_client())
                except REDIS_ERRORS as exc:
                    self.failed(use, exc)
                    failed.append((use, op))
            with self._lock:
                self._pending[:0] = failed
                if not self._pending:
                    self._writer = None
                    return

    @property
    def pending_writes(self) -> int:
        return len(self._pending)

    def status(self) -> dict[str, Any]:
        """What ``/healthz`` shows."""
        if not enabled():
            return {"status": "not_configured"}
        return {
            "status": "ok" if self.up else "down",
            "down_since": self.down_since,
            "last_error": self.last_error or None,
            "failures": dict(self.failures),
            "fallbacks": dict(self.fallbacks),
            "pending_writes": self.pending_writes,
        }

    def reset(self) -> None:
        """Forget the outage state and the clients (tests)."""
        with self._lock:
            self.down_since = None
            self.last_error = ""
            self._next_probe = 0.0
            self._probing = False
            self.failures.clear()
            self.fallbacks.clear()
            self._pending.clear()
            self._async = weakref.WeakKeyDictionary()
            self._sync = None


# The process's one link (clients are per event loop / per process by design).
link = RedisLink()
