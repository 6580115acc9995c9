"""Holding a call's worst case against the process's leases, and settling it."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from billing.book.state import HOLDER, BookState, Hold, Pool, QueuedCharge, SpendCap
from billing.errors import BillingError, BillingErrorCode
from billing.money import units_to_usd
from billing.services.leases import (
    Charge,
    PoolRef,
    lease_borrow,
    leases_expire,
    spend_period_end,
    spend_period_key,
)


class HoldingMixin(BookState):
    """Holds (in memory, borrowing what the leases lack) and their settlement."""

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
                    QueuedCharge(
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


def reclaim_stale(*, workspace_id: int | None = None) -> int:
    """Hand back the leases whose process stopped renewing them (all, or one workspace's)."""
    older_than = timedelta(seconds=settings.BILLING_LEASE_EXPIRY_SECONDS)
    return leases_expire(older_than=older_than, workspace_id=workspace_id)
