"""Routing caches invalidated in every process at once.

A process trusts its copy of a workspace's rules and keys for
``ROUTING_CACHE_TTL`` seconds (``routing_rules.selectors``). With Redis, a
change is also published on a pub/sub channel after its transaction commits;
every web process listens on a daemon thread (started with its first routing
lookup) and drops its copy on its event loop, so the next call in any process
reloads. A message lost while Redis is away leaves the TTL as the bound.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger("junction.routing")

RULES = "rules"
KEYS = "keys"


def _channel() -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX") or "junction"
    return f"{prefix}:routing:changed"


class Invalidation:
    """``drop(kind, workspace_id)`` runs on the listening process's event loop."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.drop: Callable[[str, int], None] | None = None

    def changed(self, kind: str, workspace_id: int) -> None:
        """Tell every other process, once the change is committed."""
        if settings.REDIS_URL:
            transaction.on_commit(lambda: self._publish(kind, workspace_id))

    def _publish(self, kind: str, workspace_id: int) -> None:
        try:
            client = redis.Redis.from_url(settings.REDIS_URL)
            try:
                client.publish(_channel(), f"{kind}:{workspace_id}")
            finally:
                client.close()
        except redis.RedisError:
            logger.warning("publishing a routing change failed; others see it within the TTL", exc_info=True)

    def ensure_listening(self) -> None:
        """Called on the event loop on a cache miss (not per call)."""
        if not settings.REDIS_URL or self.drop is None:
            return
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            loop = asyncio.get_running_loop()
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._listen, args=(loop,), name="routing-invalidation", daemon=True
            )
            self._thread.start()

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        delay = 0.5
        while not self._stop.is_set() and not loop.is_closed():
            try:
                client = redis.Redis.from_url(settings.REDIS_URL)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(_channel())
                delay = 0.5
                while not self._stop.is_set() and not loop.is_closed():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._deliver(loop, message["data"])
                pubsub.close()
                client.close()
            except (redis.RedisError, OSError):
                logger.warning("routing invalidation listener lost Redis; retrying", exc_info=True)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _deliver(self, loop: asyncio.AbstractEventLoop, data: bytes) -> None:
        kind, _, workspace = data.decode().partition(":")
        drop = self.drop
        if drop is not None and workspace.isdigit() and not loop.is_closed():
            loop.call_soon_threadsafe(drop, kind, int(workspace))

    def stop(self) -> None:
        self._stop.set()


invalidation = Invalidation()
