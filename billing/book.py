"""The credit book: this process's credit holds, kept in memory against leased credit.

Why: holding and settling each call in the database put every call of a
workspace in a queue on its one ``CreditAccount`` row (bench/README.md: 77
req/s at c=16). Instead each server process *leases* a block of a workspace's
available balance (``billing.services.leases.lease_borrow``: the same
conditional UPDATE of ``reserved_units`` that held single calls before) and
holds its calls against that block here:

- ``hold``: the call's worst case fits what the process has leased and not yet
  held or spent -> held, no I/O. Otherwise the process borrows what is missing
  (one transaction, on the thread pool); if the database can't cover even that,
  the call is refused (402) and nothing is held.
- ``settle``: once per hold (a second settle is a no-op). The charge is taken
  from the lease in memory and queued; a background thread writes the queue
  every ``BILLING_FLUSH_SECONDS`` in one transaction (``charges_post``: one
  ledger entry per call with its unique key, one UPDATE per workspace).
- The thread also hands back a pool's unused lease once it has been idle for
  ``BILLING_LEASE_IDLE_SECONDS``, and renews the process's lease rows (the
  heartbeat: every ``BILLING_LEASE_RENEW_SECONDS``). Every process reclaims
  the leases of processes that stopped beating for
  ``BILLING_LEASE_EXPIRY_SECONDS`` (``leases_expire``): its thread every
  ``BILLING_LEASE_RECLAIM_SECONDS``, and a borrow the database refuses first,
  for that workspace. A killed process's credit is back within a minute,
  with or without Celery beat (``billing.expire_leases`` does the same).

Because every lease came out of ``balance - reserved`` under a row lock, the sum
of all processes' holds can never exceed the balance. The price: while one
process has credit leased, another may refuse a call the workspace could pay
for, until the lease goes back (near a zero balance only: a lease takes at most
1/``BILLING_LEASE_SHARE`` of what is free beyond the call that needed it).

A key's spend cap is a second pool of the same kind (``KeySpend`` for the
period), held and settled together with the workspace's.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from billing.errors import BillingError, BillingErrorCode
from billing.models import SpendPeriod
from billing.money import units_to_usd
from billing.services.leases import (
    Charge,
    PoolRef,
    charges_post,
    lease_borrow,
    lease_return,
    leases_expire,
    leases_renew,
    spend_period_end,
    spend_period_key,
)
from gateway.logs import request_logs_charged_set

logger = logging.getLogger("junction.billing")

FORGET_AFTER_SECONDS = 600.0
LOG_FIX_SECONDS = 120.0
HOLDER = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True, eq=False)
class Pool:
    """What this process has leased from one pool, and how it is used."""

    ref: PoolRef
    lease_id: int | None = None
    leased: int = 0  # units reserved in the database under this process's lease
    held: int = 0  # open holds
    owed: int = 0  # settled charges covered by the lease, not yet written
    generation: int = 0  # bumped when the lease is found gone: older holds no longer count on it
    last_used: float = 0.0  # last hold
    touched: float = 0.0  # last lookup (a pool is forgotten only long after it)
    last_amount: int = 0  # the last hold's size
    spend_rate: float = 0.0  # units/s the lease is used up by written charges (moving average)
    rate_at: float = 0.0
    borrow_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def free(self) -> int:
        return self.leased - self.held - self.owed


@dataclass(frozen=True, slots=True)
class Hold:
    request_id: str
    amount: int
    pool: Pool
    generation: int
    key_pool: Pool | None = None
    key_generation: int = 0


@dataclass(slots=True)
class _Queued:
    charge: Charge
    pool: Pool
    generation: int
    covered: int
    key_pool: Pool | None
    key_generation: int
    key_covered: int


@dataclass(frozen=True, slots=True)
class SpendCap:
    limit_units: int
    period: SpendPeriod | str


class CreditBook:
    def __init__(self, *, background: bool = True) -> None:
        self._lock = threading.Lock()  # pools, open holds, queue
        self._flush_lock = threading.Lock()  # one flush at a time
        self._pools: dict[tuple[int, int | None, str], Pool] = {}
        self._open: dict[str, Hold] = {}
        self._queue: list[_Queued] = []
        self._background = background
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_renew = time.monotonic()
        self._last_reclaim = 0.0
        # Charges the ledger took less of than their log row says: request_id -> (units, since).
        self._log_fixes: dict[str, tuple[int, float]] = {}

    # ------------------------------------------------------------ holding

    def _pool(self, ref: PoolRef) -> Pool:
        key = (ref.workspace_id, ref.api_key_id, ref.period_key)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = Pool(ref)
        elif pool.ref != ref:  # the key's cap changed
            pool.ref = ref
        pool.touched = time.monotonic()
        return pool

    def _refs(self, workspace_id: int, api_key_id: int | None, cap: SpendCap | None) -> list[PoolRef]:
        refs = [PoolRef(workspace_id)]
        if cap is not None and api_key_id is not None:
            period_key = spend_period_key(cap.period, timezone.now())
            refs.append(PoolRef(workspace_id, api_key_id, period_key, cap.limit_units))
        return refs

    def try_hold(
        self,
        *,
        request_id: str,
        workspace_id: int,
        api_key_id: int | None,
        amount: int,
        cap: SpendCap | None = None,
    ) -> Hold | None:
        """The fast path: hold ``amount`` from what is leased already, or return None."""
        refs = self._refs(workspace_id, api_key_id, cap)
        with self._lock:
            pools = [self._pool(ref) for ref in refs]
            if all(p.free >= amount for p in pools):
                return self._take(request_id, amount, pools)
        return None

    def hold_blocking(
        self,
        *,
        request_id: str,
        workspace_id: int,
        api_key_id: int | None,
        amount: int,
        cap: SpendCap | None = None,
    ) -> Hold:
        """Hold ``amount``, borrowing what the leases lack (database; run off the
        event loop). Raises ``BillingError`` with nothing held when it can't."""
        if amount < 0:
            raise BillingError(BillingErrorCode.INVALID_AMOUNT, "A hold must not be negative.")
        refs = self._refs(workspace_id, api_key_id, cap)
        while True:
            with self._lock:
                pools = [self._pool(ref) for ref in refs]
            for pool in reversed(pools):  # the key's cap first: its refusal is the more specific one
                if not self._ensure(pool, amount):
                    raise self._refusal(pool.ref, amount, cap)
            with self._lock:
                if all(p.free >= amount for p in pools):
                    return self._take(request_id, amount, pools)
            # Another call of this process took what was borrowed meanwhile: go again.

    @staticmethod
    def _headroom(pool: Pool, call_amount: int) -> int:
        """Spare credit a lease should carry: room for ``BILLING_LEASE_CALLS`` more
        calls of this size, or ``BILLING_LEASE_SECONDS`` of the pool's spending."""
        return max(
            call_amount * settings.BILLING_LEASE_CALLS,
            int(pool.spend_rate * settings.BILLING_LEASE_SECONDS),
        )

    def _ensure(self, pool: Pool, amount: int) -> bool:
        """Make ``pool.free >= amount`` by borrowing the difference (plus headroom)."""
        with pool.borrow_lock:  # one borrow per pool at a time: no over-borrowing near zero
            return self._borrow(pool, amount, call_amount=amount)

    def _borrow(self, pool: Pool, amount: int, *, call_amount: int) -> bool:
        """Borrow what ``pool.free`` lacks of ``amount``, plus headroom. The caller
        holds ``pool.borrow_lock``."""
        with self._lock:
            need = amount - pool.free
            lease_id, generation = pool.lease_id, pool.generation
            want = need + self._headroom(pool, call_amount)
        if need <= 0:
            return True

        def borrow() -> tuple[int | None, int]:
            return lease_borrow(
                ref=pool.ref,
                holder=HOLDER,
                lease_id=lease_id,
                need=need,
                want=want,
                share=settings.BILLING_LEASE_SHARE,
            )

        new_id, granted = borrow()
        if not granted and reclaim_stale(workspace_id=pool.ref.workspace_id):
            new_id, granted = borrow()  # a dead process's leases were holding the credit back
        with self._lock:
            if lease_id is not None and new_id != lease_id and pool.generation == generation:
                self._lost(pool)  # the old lease was taken back while we held it
            if granted:
                pool.lease_id = new_id
                pool.leased += granted
                pool.last_used = time.monotonic()
        self._start()
        return granted > 0

    def _take(self, request_id: str, amount: int, pools: list[Pool]) -> Hold:
        now = time.monotonic()
        for p in pools:
            p.held += amount
            p.last_used = now
            p.last_amount = amount
        key_pool = pools[1] if len(pools) > 1 else None
        hold = Hold(
            request_id,
            amount,
            pools[0],
            pools[0].generation,
            key_pool,
            key_pool.generation if key_pool else 0,
        )
        self._open[request_id] = hold
        return hold

    @staticmethod
    def _refusal(ref: PoolRef, amount: int, cap: SpendCap | None) -> BillingError:
        if ref.is_key and cap is not None:
            end = spend_period_end(cap.period, timezone.now())
            when = f" It resets at {end:%Y-%m-%d %H:%M} UTC." if end else ""
            return BillingError(
                BillingErrorCode.SPEND_LIMIT_REACHED,
                f"This API key reached its {cap.period} spend limit of ${units_to_usd(cap.limit_units)} "
                f"(this call could cost up to ${units_to_usd(amount)}).{when}",
            )
        return BillingError(
            BillingErrorCode.INSUFFICIENT_CREDITS,
            f"Your credit balance is too low for this call (it could cost up to "
            f"${units_to_usd(amount)}). Top up your credits to continue.",
        )

    # ----------------------------------------------------------- settling

    def settle(self, hold: Hold, charge_units: int) -> bool:
        """Charge ``charge_units`` for the call and release the rest of its hold,
        once (False when already settled). No I/O: the charge is written by the
        next flush. ``0`` is a release."""
        charge_units = max(charge_units, 0)
        with self._lock:
            if self._open.pop(hold.request_id, None) is None:
                return False
            covered = self._release(hold.pool, hold.generation, hold.amount, charge_units)
            key_covered = (
                self._release(hold.key_pool, hold.key_generation, hold.amount, charge_units)
                if hold.key_pool is not None
                else 0
            )
            if charge_units:
                self._queue.append(
                    _Queued(
                        Charge(
                            request_id=hold.request_id,
                            workspace_id=hold.pool.ref.workspace_id,
                            units=charge_units,
                            covered=covered,
                            lease_id=hold.pool.lease_id if covered else None,
                            key_pool=hold.key_pool.ref if hold.key_pool else None,
                            key_lease_id=hold.key_pool.lease_id if hold.key_pool and key_covered else None,
                            key_covered=key_covered,
                        ),
                        hold.pool,
                        hold.generation,
                        covered,
                        hold.key_pool,
                        hold.key_generation,
                        key_covered,
                    )
                )
        if charge_units:
            self._start()
        return True

    @staticmethod
    def _release(pool: Pool, generation: int, held: int, charge: int) -> int:
        """Move a hold into ``owed``; returns the part of the charge the lease covers
        (the hold, plus any overrun the lease's free part can absorb)."""
        if pool.generation != generation:
            return 0  # its lease is gone: the whole charge is collected as an overrun
        pool.held -= held
        covered = min(charge, held)
        pool.owed += covered
        if charge > held:  # an overrun: what the lease has spare covers it first
            extra = min(charge - held, max(pool.free, 0))
            pool.owed += extra
            covered += extra
        return covered

    # ------------------------------------------------------------ writing

    def flush(self, *, return_idle: bool = False, force_return: bool = False) -> int:
        """Write the queued charges (one transaction); then, when asked, hand
        back idle pools' leases (all unused leases with ``force_return``).
        Returns how many charges were written."""
        with self._flush_lock:
            with self._lock:
                batch, self._queue = self._queue, []
            written = 0
            if batch:
                try:
                    posted = charges_post([q.charge for q in batch])
                except Exception:
                    for q in batch:  # its commit may have gone through: the retry checks
                        q.charge.retried = True
                    with self._lock:
                        self._queue[:0] = batch
                    raise
                written = len(posted.written)
                now = time.monotonic()
                for request_id, units in posted.shortfalls.items():
                    self._log_fixes[request_id] = (units, now)
                with self._lock:
                    spent: dict[int, int] = {}
                    for q in batch:  # also those a previous attempt had written: they are spent
                        if q.pool.generation == q.generation:
                            q.pool.leased -= q.covered
                            q.pool.owed -= q.covered
                            spent[id(q.pool)] = spent.get(id(q.pool), 0) + q.covered
                        if q.key_pool is not None and q.key_pool.generation == q.key_generation:
                            q.key_pool.leased -= q.key_covered
                            q.key_pool.owed -= q.key_covered
                    now = time.monotonic()
                    for pool in self._pools.values():
                        if pool.lease_id in posted.lost_leases:
                            self._lost(pool)
                        if pool.rate_at:  # units/s, smoothed over the last flushes
                            rate = spent.get(id(pool), 0) / max(now - pool.rate_at, 0.05)
                            pool.spend_rate = 0.7 * pool.spend_rate + 0.3 * rate
                        pool.rate_at = now
            if self._log_fixes:
                self._fix_logs()
            if return_idle or force_return:
                self._return_idle(force_return)
            return written

    def _fix_logs(self) -> None:
        """Make the log rows of short charges say what the ledger took (their
        row may be written after the charge: retried for ``LOG_FIX_SECONDS``)."""
        found = request_logs_charged_set(charged={rid: units for rid, (units, _) in self._log_fixes.items()})
        cutoff = time.monotonic() - LOG_FIX_SECONDS
        self._log_fixes = {
            rid: fix for rid, fix in self._log_fixes.items() if rid not in found and fix[1] > cutoff
        }

    def _lost(self, pool: Pool) -> None:
        """The pool's lease was taken back: nothing it held counts any more."""
        logger.error("credit lease %s of %s was gone; starting a new one", pool.lease_id, pool.ref)
        pool.generation += 1
        pool.lease_id, pool.leased, pool.held, pool.owed = None, 0, 0, 0

    def _return_idle(self, force: bool) -> None:
        idle_after = settings.BILLING_LEASE_IDLE_SECONDS
        now = time.monotonic()
        giving: list[tuple[Pool, int, int, int]] = []
        with self._lock:
            for pool in self._pools.values():
                if pool.lease_id is None:
                    continue
                units = max(pool.free, 0)
                if units == 0 and (pool.held or pool.owed):
                    continue  # nothing spare to give back yet
                if force or (pool.held == 0 and now - pool.last_used >= idle_after):
                    # Not while a call borrows into this lease (it may be about to grow it).
                    if not pool.borrow_lock.acquire(blocking=False):
                        continue
                    pool.leased -= units  # no new hold may use it from here on
                    giving.append((pool, pool.lease_id, units, pool.generation))
        for index, (pool, lease_id, units, generation) in enumerate(giving):
            try:
                returned = lease_return(ref=pool.ref, lease_id=lease_id, units=units)
            except Exception:
                with self._lock:
                    for other, _, other_units, other_generation in giving[index:]:
                        if other.generation == other_generation:
                            other.leased += other_units
                        other.borrow_lock.release()
                raise
            pool.borrow_lock.release()
            with self._lock:
                if pool.generation != generation:
                    continue
                if returned < units:  # the lease was smaller than the book thought: it is gone
                    self._lost(pool)
                elif pool.leased == 0 and pool.held == 0 and pool.owed == 0:
                    pool.lease_id = None  # lease_return deleted the row
        with self._lock:  # forget pools unused for long (a call may be borrowing into a recent one)
            self._pools = {
                k: p
                for k, p in self._pools.items()
                if p.lease_id is not None or p.held or p.owed or now - p.touched < FORGET_AFTER_SECONDS
            }

    def refill(self) -> None:
        """Top up busy pools whose spare credit fell below half their headroom,
        before a call finds the lease empty and has to wait for a borrow."""
        idle_after = settings.BILLING_LEASE_IDLE_SECONDS
        now = time.monotonic()
        with self._lock:
            low = [
                p
                for p in self._pools.values()
                if p.lease_id is not None
                and now - p.last_used < idle_after
                and p.free < self._headroom(p, p.last_amount) // 2
            ]
        for pool in low:
            if pool.borrow_lock.acquire(blocking=False):  # a call is borrowing already: leave it
                try:
                    with self._lock:  # not if its lease was handed back since the look above
                        handed_back = pool.lease_id is None
                    if not handed_back:
                        self._borrow(pool, max(pool.free, 0) + 1, call_amount=pool.last_amount)
                finally:
                    pool.borrow_lock.release()

    def renew(self) -> None:
        with self._lock:
            ids = [p.lease_id for p in self._pools.values() if p.lease_id is not None]
        gone = leases_renew(lease_ids=ids)
        if gone:
            with self._lock:
                for pool in self._pools.values():
                    if pool.lease_id in gone:
                        self._lost(pool)

    # -------------------------------------------------------- background

    def _start(self) -> None:
        if not self._background or self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="junction-credit-book", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        interval = settings.BILLING_FLUSH_SECONDS
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.flush(return_idle=True)
                self.refill()
                if time.monotonic() - self._last_renew >= settings.BILLING_LEASE_RENEW_SECONDS:
                    self._last_renew = time.monotonic()
                    self.renew()
                if time.monotonic() - self._last_reclaim >= settings.BILLING_LEASE_RECLAIM_SECONDS:
                    self._last_reclaim = time.monotonic()
                    reclaim_stale()
            except Exception:
                logger.exception("writing credit charges failed; retrying")
                connection.close()
                self._stop.wait(1.0)
            finally:
                close_old_connections()

    def close(self) -> None:
        """Write everything and hand every unused lease back (server shutdown)."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(10)
            self._thread = None
        self.flush(force_return=True)
        close_old_connections()

    # ------------------------------------------------------------- tests

    def open_holds(self) -> int:
        with self._lock:
            return len(self._open)

    def settled(self, timeout: float = 5.0) -> None:
        """Wait until no call holds credit, then write and return everything
        (again, if the writer thread was topping a lease up meanwhile)."""
        deadline = time.monotonic() + timeout
        while self.open_holds():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.open_holds()} credit holds still open")
            time.sleep(0.01)
        while True:
            self.flush(force_return=True)
            with self._lock:
                if all(pool.lease_id is None for pool in self._pools.values()):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("credit leases still out")
            time.sleep(0.01)

    def reset(self) -> None:
        """Forget everything without writing (tests, after the database was emptied)."""
        with self._flush_lock, self._lock:
            self._pools.clear()
            self._open.clear()
            self._queue.clear()


def reclaim_stale(*, workspace_id: int | None = None) -> int:
    """Hand back the leases whose process stopped renewing them (all, or one workspace's)."""
    older_than = timedelta(seconds=settings.BILLING_LEASE_EXPIRY_SECONDS)
    return leases_expire(older_than=older_than, workspace_id=workspace_id)


book = CreditBook()
