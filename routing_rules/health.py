"""Live health per deployment: moving averages (TTFT, latency, error rate) for
the auto modes, and a circuit breaker for the router to skip failing ones.

The hot path only touches this process's memory. When ``REDIS_URL`` is set a
background thread exchanges state with Redis every
``ROUTING_HEALTH_SYNC_INTERVAL`` seconds in one pipelined round trip: each
process publishes its averages (merged by sample count on read) and any
breaker it opened, so every process skips a deployment another one found dead.

Only calls made with the platform's own key say something about a deployment
for everyone. A call with a workspace's own provider key (BYOK: a header or a
stored key) is counted under that key's ``scope`` (a digest of the key): its
failures open a breaker for that key alone, kept in this process, and never
touch the shared averages or breaker, so one tenant's bad or rate-limited key
can't take a deployment away from the others.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import msgspec
from django.conf import settings

from gateway.redis_clients import link
from routing_rules.router.scoring import DeploymentStats

logger = logging.getLogger("junction.routing.health")
STALE_AFTER = 600  # seconds a process's published statistics count
MAX_SCOPED = 10_000  # per-key breakers kept (the oldest are forgotten first)

# A deployment's entry: its id (platform keys), or (id, scope) for one BYOK key.
EntryKey = int | tuple[int, str]


def key_scope(api_key: str) -> str:
    """The breaker scope of a BYOK provider key (a digest: the key itself is never kept)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:24]


def _key(deployment_id: int, scope: str | None) -> EntryKey:
    return deployment_id if scope is None else (deployment_id, scope)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class _Entry:
    ttft_ms: float | None = None
    latency_ms: float | None = None
    error_rate: float = 0.0
    samples: int = 0
    outcomes: deque[bool] = field(default_factory=deque)
    state: BreakerState = BreakerState.CLOSED
    open_until: float = 0.0  # unix time
    probing: bool = False
    probe_started: float = 0.0
    dirty: bool = False
    opened_dirty: bool = False
    closed_dirty: bool = False


def _tripped(outcomes: deque[bool]) -> bool:
    """At least ``ROUTING_BREAKER_FAILURES`` failures among the last
    ``ROUTING_BREAKER_WINDOW`` calls, and at least ``ROUTING_BREAKER_FAILURE_RATIO``
    of them: an upstream that fails 2 % of a busy deployment's calls sees 5 of
    20 often enough (the soak: every minute or so) and must not be taken away
    from everyone for a cooldown; a dead one fails 5 of its first 5."""
    failures = outcomes.count(False)
    return (
        failures >= settings.ROUTING_BREAKER_FAILURES
        and failures >= settings.ROUTING_BREAKER_FAILURE_RATIO * len(outcomes)
    )


def _ewma(old: float | None, new: float, alpha: float) -> float:
    return new if old is None else old + alpha * (new - old)


class HealthRegistry:
    """This process's view. One instance per process (``health`` below)."""

    def __init__(self, *, clock: Any = time.time, process_id: str | None = None) -> None:
        self._entries: dict[EntryKey, _Entry] = {}
        self._shared_stats: dict[int, DeploymentStats] = {}
        self._shared_open: dict[int, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self.process_id = process_id or f"{os.getpid()}-{id(self):x}"
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------- reading

    def _entry(self, key: EntryKey) -> _Entry:
        entry = self._entries.get(key)
        if entry is None:
            if not isinstance(key, int) and len(self._entries) >= MAX_SCOPED:
                oldest = next((k for k in self._entries if not isinstance(k, int)), None)
                if oldest is not None:
                    del self._entries[oldest]
            entry = self._entries[key] = _Entry(outcomes=deque(maxlen=settings.ROUTING_BREAKER_WINDOW))
        return entry

    def state(self, deployment_id: int, scope: str | None = None) -> BreakerState:
        entry = self._entries.get(_key(deployment_id, scope))
        now = self._clock()
        shared_until = self._shared_open.get(deployment_id, 0.0) if scope is None else 0.0
        if entry is None:
            return BreakerState.OPEN if shared_until > now else BreakerState.CLOSED
        if entry.state is BreakerState.OPEN and entry.open_until <= now:
            entry.state, entry.probing = BreakerState.HALF_OPEN, False
        if entry.state is BreakerState.CLOSED and shared_until > now:
            return BreakerState.OPEN
        return entry.state

    def is_open(self, deployment_id: int, scope: str | None = None) -> bool:
        """True when the router must skip the deployment: open, or half-open
        with its one probe already under way; for everyone, or (``scope``)
        for the one BYOK key."""
        if self._is_open(deployment_id, None):
            return True
        return scope is not None and self._is_open(deployment_id, scope)

    def _is_open(self, deployment_id: int, scope: str | None) -> bool:
        state = self.state(deployment_id, scope)
        if state is BreakerState.HALF_OPEN:
            e = self._entries[_key(deployment_id, scope)]
            # A probe that never reported (client gone) stops blocking after a cooldown.
            return e.probing and self._clock() - e.probe_started < settings.ROUTING_BREAKER_COOLDOWN
        return state is BreakerState.OPEN

    def stats(self) -> dict[int, DeploymentStats]:
        """Averages for the router: the shared view, refreshed by this process's own."""
        merged = dict(self._shared_stats)
        for dep_id, e in self._entries.items():
            if isinstance(dep_id, int) and e.samples and dep_id not in merged:
                merged[dep_id] = DeploymentStats(e.ttft_ms, e.latency_ms, e.error_rate, e.samples)
        return merged

    # ------------------------------------------------------------- writing

    def begin(self, deployment_id: int, scope: str | None = None) -> None:
        """An attempt starts; in half-open state it becomes the probe (of the
        shared breaker for a platform key, of the key's own for BYOK)."""
        if self.state(deployment_id, scope) is BreakerState.HALF_OPEN:
            e = self._entry(_key(deployment_id, scope))
            e.probing, e.probe_started = True, self._clock()

    def release(self, deployment_id: int, scope: str | None = None) -> None:
        """An attempt ended without saying anything about the upstream's
        health (a refused request): a probe may be tried again."""
        e = self._entries.get(_key(deployment_id, scope))
        if e is not None:
            e.probing = False

    def record(
        self,
        deployment_id: int,
        *,
        ok: bool,
        ttft_ms: float | None = None,
        latency_ms: float | None = None,
        scope: str | None = None,
    ) -> None:
        """An attempt's outcome. With a ``scope`` (a BYOK key) only that key's
        breaker counts it: no shared average, nothing published."""
        alpha = settings.ROUTING_HEALTH_ALPHA
        now = self._clock()
        with self._lock:
            e = self._entry(_key(deployment_id, scope))
            self.state(deployment_id, scope)  # move an expired open breaker to half-open
            if scope is not None:
                self._count(e, ok, now, shared_id=None)
                return
            e.samples += 1
            e.error_rate = _ewma(e.error_rate if e.samples > 1 else None, 0.0 if ok else 1.0, alpha)
            if ttft_ms is not None:
                e.ttft_ms = _ewma(e.ttft_ms, float(ttft_ms), alpha)
            if latency_ms is not None:
                e.latency_ms = _ewma(e.latency_ms, float(latency_ms), alpha)
            e.dirty = True
            self._count(e, ok, now, shared_id=deployment_id)
        self._ensure_sync()

    def _count(self, e: _Entry, ok: bool, now: float, *, shared_id: int | None) -> None:
        """The breaker's side of an outcome (the caller holds the lock)."""
        if e.state is BreakerState.HALF_OPEN:
            e.probing = False
            if ok:
                e.state = BreakerState.CLOSED
                e.outcomes.clear()
                e.closed_dirty = shared_id is not None
                if shared_id is not None:
                    self._shared_open.pop(shared_id, None)
            else:
                self._open(e, now)
            return
        e.outcomes.append(ok)
        if e.state is BreakerState.CLOSED and _tripped(e.outcomes):
            self._open(e, now)

    def _open(self, e: _Entry, now: float) -> None:
        e.state = BreakerState.OPEN
        e.open_until = now + settings.ROUTING_BREAKER_COOLDOWN
        e.outcomes.clear()
        e.opened_dirty = True

    def reset(self) -> None:
        """Forget everything, here and (tests) under this process's Redis prefix."""
        with self._lock:
            self._entries.clear()
            self._shared_stats.clear()
            self._shared_open.clear()
        if settings.REDIS_URL:
            client = self._client()
            keys = list(client.scan_iter(f"{settings.ROUTING_HEALTH_REDIS_PREFIX}:*"))
            if keys:
                client.delete(*keys)

    def _client(self) -> Any:
        return link.sync_client()

    # ---------------------------------------------------------------- Redis

    def _ensure_sync(self) -> None:
        if not settings.REDIS_URL or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._sync_loop, name="routing-health-sync", daemon=True)
        self._thread.start()

    def _sync_loop(self) -> None:
        while not self._stop.wait(settings.ROUTING_HEALTH_SYNC_INTERVAL):
            # Redis down or slow (gateway.redis_clients): keep routing on local state.
            try:
                link.run_sync("routing_health", self.sync)
            except Exception:
                logger.warning("health sync with Redis failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()

    def sync(self, client: Any, *, prefix: str | None = None) -> None:
        """Publish this process's changes and read everyone's (two pipelined round trips)."""
        prefix = prefix or settings.ROUTING_HEALTH_REDIS_PREFIX
        now = self._clock()
        with self._lock:
            changes = []
            for dep_id, e in self._entries.items():
                if isinstance(dep_id, int) and (e.dirty or e.opened_dirty or e.closed_dirty):
                    changes.append(
                        (
                            dep_id,
                            e.ttft_ms,
                            e.latency_ms,
                            e.error_rate,
                            e.samples,
                            e.opened_dirty,
                            e.open_until,
                            e.closed_dirty,
                        )
                    )
                    e.dirty = e.opened_dirty = e.closed_dirty = False
        pipe = client.pipeline(transaction=False)
        for dep_id, ttft, latency, err, samples, opened, open_until, closed in changes:
            payload = msgspec.json.encode({"t": ttft, "l": latency, "e": err, "n": samples, "at": now})
            pipe.hset(f"{prefix}:stats:{dep_id}", self.process_id, payload)
            pipe.expire(f"{prefix}:stats:{dep_id}", STALE_AFTER)
            pipe.sadd(f"{prefix}:deployments", dep_id)
            pipe.expire(f"{prefix}:deployments", STALE_AFTER)
            if opened:
                ttl_ms = max(1, int((open_until - now) * 1000))
                pipe.set(f"{prefix}:open:{dep_id}", repr(open_until), px=ttl_ms)
            if closed:
                pipe.delete(f"{prefix}:open:{dep_id}")
        pipe.smembers(f"{prefix}:deployments")
        known = pipe.execute()[-1]
        ids = sorted(int(x) for x in known)
        pipe = client.pipeline(transaction=False)
        for dep_id in ids:
            pipe.hgetall(f"{prefix}:stats:{dep_id}")
            pipe.get(f"{prefix}:open:{dep_id}")
        results = pipe.execute()
        shared_stats: dict[int, DeploymentStats] = {}
        shared_open: dict[int, float] = {}
        for i, dep_id in enumerate(ids):
            rows = [msgspec.json.decode(v) for v in results[2 * i].values()]
            merged = _merge([r for r in rows if now - r.get("at", 0) < STALE_AFTER])
            if merged is not None:
                shared_stats[dep_id] = merged
            opened_until = results[2 * i + 1]
            if opened_until is not None and float(opened_until) > now:
                shared_open[dep_id] = float(opened_until)
        with self._lock:
            self._shared_stats = shared_stats
            self._shared_open = shared_open


def _merge(rows: list[dict[str, Any]]) -> DeploymentStats | None:
    """Combine processes' averages, weighting each by its sample count."""
    total = sum(r["n"] for r in rows)
    if not total:
        return None

    def weighted(key: str) -> float | None:
        pairs = [(r[key], r["n"]) for r in rows if r.get(key) is not None]
        weight = sum(n for _, n in pairs)
        return sum(v * n for v, n in pairs) / weight if weight else None

    return DeploymentStats(
        ttft_ms=weighted("t"), latency_ms=weighted("l"), error_rate=weighted("e") or 0.0, samples=total
    )


# The per-process registry (one per worker process, by design).
health = HealthRegistry()
