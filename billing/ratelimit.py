"""Rate limits: requests and tokens per minute per key, concurrent calls per
workspace. Shared by every web process through Redis (one atomic Lua script,
one round trip per call); in-process when Redis is not configured.

A finished call's concurrency slot is released by the process's next admission
(the same script call decrements the slots queued since the last one), or after
``RELEASE_DELAY_SECONDS`` by a release-only call when no admission came: under
load, releasing costs no round trip of its own.

Windows are fixed UTC minutes. Tokens are counted at admission from the
request's estimate (input estimate + ``max_tokens``), as OpenAI does.

Redis down or slow (``gateway.redis_clients``): admission falls back to this
process's own counters (each process then enforces the limits on its own, so
N processes admit up to N times the limit) with a warning in the log and
``link.fallbacks["ratelimit"]`` counted (``/healthz``), at once while Redis is known to be down
and after at most ``REDIS_TIMEOUT`` when it stops answering. Never an error.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings

from billing.redis_pipe import PipelinedRedis, Script
from gateway import redis_clients
from gateway.redis_clients import REDIS_ERRORS, link

logger = logging.getLogger("junction.billing")

WINDOW_SECONDS = 60
# A concurrency slot a crashed process never released expires after this long.
CONCURRENCY_TTL_SECONDS = 900

# Releases queued by this process: KEYS[4..] in-flight counters, ARGV[7..] how many
# slots to give back on each (never below zero). Shared by both scripts.
RELEASES_LUA = """
for i = 4, #KEYS do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0')
  local d = math.min(v, tonumber(ARGV[i + 3]))
  if d > 0 then redis.call('DECRBY', KEYS[i], d) end
end
"""

# KEYS: requests window, tokens window, workspace in-flight counter, then releases.
# ARGV: rpm, tpm, concurrency limit, tokens, window ttl, in-flight ttl (0 = unlimited), then releases.
# Returns {refused (0 ok, 1 rpm, 2 tpm, 3 concurrency), requests, tokens, in_flight}.
ADMIT_LUA = (
    RELEASES_LUA
    + """
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local conc = tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
local reqs = tonumber(redis.call('GET', KEYS[1]) or '0')
local toks = tonumber(redis.call('GET', KEYS[2]) or '0')
local inflight = tonumber(redis.call('GET', KEYS[3]) or '0')
if rpm > 0 and reqs + 1 > rpm then return {1, reqs, toks, inflight} end
if tpm > 0 and toks + tokens > tpm then return {2, reqs, toks, inflight} end
if conc > 0 and inflight + 1 > conc then return {3, reqs, toks, inflight} end
if rpm > 0 then
  reqs = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
end
if tpm > 0 then
  toks = redis.call('INCRBY', KEYS[2], tokens)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
end
if conc > 0 then
  inflight = redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6]))
end
return {0, reqs, toks, inflight}
"""
)

# Releases only (KEYS[1..3] unused placeholders, as in ADMIT_LUA).
RELEASE_LUA = RELEASES_LUA + "return 0"
ADMIT_SCRIPT = Script(ADMIT_LUA)
RELEASE_SCRIPT = Script(RELEASE_LUA)
RELEASE_DELAY_SECONDS = 0.02

REFUSALS = {1: "requests", 2: "tokens", 3: "concurrency"}


@dataclass(frozen=True, slots=True)
class Lease:
    """A held concurrency slot, released when the call finishes (in Redis, or
    in this process's counters when it was taken there)."""

    key: str
    local: bool = False


@dataclass(slots=True)
class Outcome:
    refused: str | None = None  # None, or an error code
    message: str = ""
    retry_after: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    lease: Lease | None = None


def _prefix() -> str:
    return settings.RATELIMIT_KEY_PREFIX


def _keys(key_id: int, workspace_id: int, window: int) -> tuple[str, str, str]:
    p = _prefix()
    return (f"{p}:rpm:{key_id}:{window}", f"{p}:tpm:{key_id}:{window}", f"{p}:conc:{workspace_id}")


class _RedisClients:
    """One pipelined Redis connection per event loop (``billing.redis_pipe``)."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PipelinedRedis] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> PipelinedRedis:
        loop = asyncio.get_running_loop()
        client = self._by_loop.get(loop)
        if client is None or (client.url, client.timeout) != (settings.REDIS_URL, settings.REDIS_TIMEOUT):
            client = PipelinedRedis(settings.REDIS_URL, timeout=settings.REDIS_TIMEOUT)
            self._by_loop[loop] = client
        return client


_redis = _RedisClients()


class _LocalCounters:
    """The in-process stand-in (one process, no Redis): same rules, a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, float]] = {}

    def _get(self, key: str, now: float) -> int:
        value, expires = self._values.get(key, (0, 0.0))
        return value if expires > now else 0

    def admit(self, keys: tuple[str, str, str], rpm: int, tpm: int, conc: int, tokens: int) -> list[int]:
        now = time.monotonic()
        with self._lock:
            if len(self._values) > 100_000:
                self._values = {k: v for k, v in self._values.items() if v[1] > now}
            reqs, toks, inflight = (self._get(k, now) for k in keys)
            if rpm and reqs + 1 > rpm:
                return [1, reqs, toks, inflight]
            if tpm and toks + tokens > tpm:
                return [2, reqs, toks, inflight]
            if conc and inflight + 1 > conc:
                return [3, reqs, toks, inflight]
            if rpm:
                reqs += 1
                self._values[keys[0]] = (reqs, now + WINDOW_SECONDS * 2)
            if tpm:
                toks += tokens
                self._values[keys[1]] = (toks, now + WINDOW_SECONDS * 2)
            if conc:
                inflight += 1
                self._values[keys[2]] = (inflight, now + CONCURRENCY_TTL_SECONDS)
            return [0, reqs, toks, inflight]

    def release(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            value = self._get(key, now)
            if value > 0:
                self._values[key] = (value - 1, now + CONCURRENCY_TTL_SECONDS)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


local_counters = _LocalCounters()


def _use_redis() -> bool:
    return redis_clients.enabled()


async def _script(script: Script, keys: list[str], args: list[int]) -> Any:
    """Over ``billing.redis_pipe``, not redis-py: 20 against 138 us of CPU per
    call, 7-11 % of a /v1 call's CPU at 16 concurrent calls (bench/README.md)."""
    return await _redis.get().evalsha(script, keys=keys, args=args)


async def acquire(
    *, key_id: int, workspace_id: int, rpm: int, tpm: int, concurrency: int, tokens: int
) -> Outcome:
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    reset = max(int(WINDOW_SECONDS - now % WINDOW_SECONDS), 1)
    keys = _keys(key_id, workspace_id, window)
    shared = await _admit_shared(keys, rpm, tpm, concurrency, tokens) if link.usable() else None
    local = shared is None
    if shared is None:
        if _use_redis():
            link.fallbacks["ratelimit"] += 1
        result = local_counters.admit(keys, rpm, tpm, concurrency, tokens)
    else:
        result = shared
    refused, reqs, toks, _inflight = result
    headers: dict[str, str] = {}
    if rpm:
        headers["x-ratelimit-limit-requests"] = str(rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(rpm - reqs, 0))
        headers["x-ratelimit-reset-requests"] = f"{reset}s"
    if tpm:
        headers["x-ratelimit-limit-tokens"] = str(tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(tpm - toks, 0))
        headers["x-ratelimit-reset-tokens"] = f"{reset}s"
    outcome = Outcome(headers=headers)
    if refused == 0:
        if concurrency:
            outcome.lease = Lease(keys[2], local=local)
        return outcome
    kind = REFUSALS[refused]
    outcome.refused = "rate_limit_exceeded" if kind != "concurrency" else "concurrency_limit_exceeded"
    if kind == "requests":
        outcome.message = (
            f"Rate limit reached: {rpm} requests per minute for this API key. Retry in {reset}s."
        )
        outcome.retry_after = reset
    elif kind == "tokens":
        outcome.message = (
            f"Rate limit reached: {tpm} tokens per minute for this API key (this request counts "
            f"{tokens}). Retry in {reset}s."
        )
        outcome.retry_after = reset
    else:
        outcome.message = (
            f"Too many concurrent requests: this workspace allows {concurrency} at a time. "
            "Retry when one finishes."
        )
        outcome.retry_after = 1
    return outcome


async def _admit_shared(
    keys: tuple[str, str, str], rpm: int, tpm: int, concurrency: int, tokens: int
) -> list[int] | None:
    """The admission script's answer, or None when Redis failed (counted, logged)."""
    queued = _queued_releases()
    released = queued.take()
    try:
        return await _script(
            ADMIT_SCRIPT,
            [*keys, *released],
            [rpm, tpm, concurrency, tokens, WINDOW_SECONDS * 2, CONCURRENCY_TTL_SECONDS, *released.values()],
        )
    except BaseException as exc:
        queued.put_back(released)
        if isinstance(exc, REDIS_ERRORS):
            link.failed("ratelimit", exc)
            return None
        raise


class _QueuedReleases:
    """Slots this event loop's finished calls gave back, not yet sent to Redis."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.counts: dict[str, int] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.sending: set[asyncio.Task[None]] = set()  # release-only calls in flight

    def add(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.timer is None:
            self.timer = self.loop.call_later(RELEASE_DELAY_SECONDS, self._send_soon)

    def take(self) -> dict[str, int]:
        counts, self.counts = self.counts, {}
        return counts

    def put_back(self, counts: dict[str, int]) -> None:
        for key, n in counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        if counts and self.timer is None:
            self.timer = self.loop.call_later(1.0, self._send_soon)

    def _send_soon(self) -> None:
        self.timer = None
        if self.counts:
            task = self.loop.create_task(self.send(quiet=True))
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)

    async def send(self, *, quiet: bool = False) -> None:
        counts = self.take()
        if not counts:
            return
        try:
            await _script(RELEASE_SCRIPT, ["-", "-", "-", *counts], [0, 0, 0, 0, 0, 0, *counts.values()])
        except Exception:
            self.put_back(counts)  # Redis unreachable: try again shortly
            if not quiet:
                raise
            logger.warning("releasing %d concurrency slot(s) failed; retrying", sum(counts.values()))


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _QueuedReleases] = weakref.WeakKeyDictionary()


def _queued_releases() -> _QueuedReleases:
    loop = asyncio.get_running_loop()
    queued = _queues.get(loop)
    if queued is None:
        queued = _queues[loop] = _QueuedReleases(loop)
    return queued


def release_soon(lease: Lease) -> None:
    """Give the call's concurrency slot back: with the process's next admission,
    or a moment later on its own (no round trip of its own under load)."""
    if lease.local or not _use_redis():
        local_counters.release(lease.key)
        return
    try:
        _queued_releases().add(lease.key)
    except RuntimeError:  # no running loop (finished from sync code): release now
        async_to_sync(release)(lease)


async def release(lease: Lease) -> None:
    """Give the slot back now (and whatever this loop had queued)."""
    if lease.local or not _use_redis():
        local_counters.release(lease.key)
        return
    queued = _queued_releases()
    queued.counts[lease.key] = queued.counts.get(lease.key, 0) + 1
    await queued.send()


async def drain() -> None:
    """Send this loop's queued releases (server shutdown)."""
    queued = _queues.get(asyncio.get_running_loop())
    if queued is not None:
        if queued.timer is not None:
            queued.timer.cancel()
            queued.timer = None
        await asyncio.gather(*queued.sending, return_exceptions=True)
        await queued.send()
