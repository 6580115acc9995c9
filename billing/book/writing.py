"""Writing the book's queued charges, and handing leases back or topping them up."""

from __future__ import annotations

import time

from django.conf import settings

from billing.book.state import FORGET_AFTER_SECONDS, LOG_FIX_SECONDS, BookState, Pool
from billing.services.leases import charges_post, lease_return, leases_renew
from gateway.logs import request_logs_charged_set


class WritingMixin(BookState):
    """The writer thread's work: queued charges to the ledger, leases back or topped up."""

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
