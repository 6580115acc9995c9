"""The firewall on the hot path: compiled engines cached per process.

A workspace's engine is built from the database once and reused; after
``FIREWALL_TTL`` seconds the process checks the workspace's version in the
shared cache (one cache read, no query) and rebuilds only if a policy changed.
Without a shared cache (the laptop default), or while Redis is down, it
rebuilds after the TTL. Writers call ``bump_version`` so every process sees a
change within the TTL, and this process at once (a bump made while Redis is
down is retried until it lands, ``gateway.redis_clients.write_later``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import partial

from asgiref.sync import sync_to_async
from django.conf import settings

from firewall.engine import Engine
from gateway import redis_clients
from gateway.redis_clients import link
from gateway.singleflight import SingleFlight


def _version_key(workspace_id: int) -> str:
    return redis_clients.key("firewall", "version", workspace_id)


def _shared() -> bool:
    return redis_clients.enabled()


def _ttl() -> float:
    return float(getattr(settings, "FIREWALL_TTL", 5.0))


@dataclass(slots=True)
class _Entry:
    engine: Engine
    version: str | None
    checked_at: float


class EngineCache:
    """Per-process holder: workspace id -> compiled engine."""

    MAX_ENTRIES = 20_000

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}
        self._loading: SingleFlight[Engine] = SingleFlight()

    async def get(self, workspace_id: int) -> Engine:
        entry = self._entries.get(workspace_id)
        if entry is not None and time.monotonic() - entry.checked_at < _ttl():
            return entry.engine
        # Calls that miss together share one check and load.
        return await self._loading.run(workspace_id, partial(self._refresh, workspace_id))

    async def _refresh(self, workspace_id: int) -> Engine:
        now = time.monotonic()
        entry = self._entries.get(workspace_id)
        version: str | None = None
        shared = _version_key(workspace_id)
        found = await link.run("firewall", lambda r: r.get(shared)) if _shared() else None
        if isinstance(found, bytes):
            version = found.decode()
            if entry is not None and version == entry.version:
                entry.checked_at = now
                return entry.engine
        engine = await sync_to_async(_load)(workspace_id)
        if not self._loading.is_current(workspace_id):
            return engine  # the policy changed while it loaded: not kept
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[workspace_id] = _Entry(engine, version, time.monotonic())
        return engine

    def forget(self, workspace_id: int) -> None:
        self._entries.pop(workspace_id, None)
        self._loading.forget(workspace_id)

    def clear(self) -> None:
        self._entries.clear()
        self._loading.clear()


def _load(workspace_id: int) -> Engine:
    from firewall.selectors import engine_for_workspace

    return engine_for_workspace(workspace_id=workspace_id)


engine_cache = EngineCache()


async def engine_for(workspace_id: int) -> Engine:
    return await engine_cache.get(workspace_id)


def bump_version(workspace_id: int) -> None:
    """A policy of the workspace changed: every process reloads it."""
    engine_cache.forget(workspace_id)
    if _shared():
        shared, version = _version_key(workspace_id), secrets.token_hex(8)
        link.write_later("firewall", lambda r: r.set(shared, version))
