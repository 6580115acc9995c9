"""Credit leases: the database side of the credit book (``billing.book``).

A server process holds its calls' worst-case charges in memory, against credit
it has *leased*: units moved into ``reserved_units`` of the workspace's
``CreditAccount`` (or of a key's ``KeySpend`` row, for a spend cap) by one
conditional UPDATE, recorded as a ``CreditLease`` row. Settled calls come back
here in batches: one transaction writes each charge's ledger entry (unique
``charge:<request_id>`` key, so a retried batch never charges twice), takes the
charges off the balance and shrinks the leases by what they covered.

Invariants kept by the database, whatever the processes do:
``balance_units >= reserved_units >= 0`` (so leases never exceed what the
workspace has), and the balance equals the sum of the ledger.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from billing.models import CreditAccount, CreditLease, EntryKind, KeySpend, LedgerEntry, SpendPeriod
from gateway.bulkcopy import copy_rows

logger = logging.getLogger("junction.billing")


def spend_period_key(period: SpendPeriod | str, now: datetime) -> str:
    if period == SpendPeriod.DAY:
        return f"day:{now:%Y-%m-%d}"
    if period == SpendPeriod.MONTH:
        return f"month:{now:%Y-%m}"
    return "total"


def spend_period_end(period: SpendPeriod | str, now: datetime) -> datetime | None:
    if period == SpendPeriod.DAY:
        return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == SpendPeriod.MONTH:
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (first + timedelta(days=32)).replace(day=1)
    return None


@dataclass(frozen=True, slots=True)
class PoolRef:
    """What a lease draws on: a workspace's balance, or one key's spend cap in one period."""

    workspace_id: int
    api_key_id: int | None = None  # set: the key's spend-cap pool
    period_key: str = ""
    limit_units: int = 0  # the key's cap

    @property
    def is_key(self) -> bool:
        return self.api_key_id is not None


@dataclass(slots=True)
class Charge:
    """One settled call, as the book hands it over."""

    request_id: str
    workspace_id: int
    units: int  # what the call costs the workspace
    covered: int  # the part already held under the workspace lease (<= units)
    lease_id: int | None  # the workspace lease that covers ``covered``
    key_pool: PoolRef | None = None
    key_lease_id: int | None = None
    key_covered: int = 0  # the part held under the key's lease
    charged: int = 0  # set by ``charges_post``: what was really taken
    # A write of this charge was tried before and failed, perhaps after its
    # commit went through: ``charges_post`` looks for its ledger entry first.
    retried: bool = False


def _capacity(ref: PoolRef) -> int:
    """What the pool has free, with its row locked until the transaction ends."""
    if ref.api_key_id is not None:  # is_key, spelled so that mypy sees an int
        KeySpend.objects.bulk_create(
            [KeySpend(api_key_id=ref.api_key_id, period_key=ref.period_key)], ignore_conflicts=True
        )
        spend = KeySpend.objects.filter(api_key_id=ref.api_key_id, period_key=ref.period_key)
        row = spend.select_for_update().values("spent_units", "reserved_units").get()
        return ref.limit_units - row["spent_units"] - row["reserved_units"]
    account = CreditAccount.objects.filter(workspace_id=ref.workspace_id)
    found = account.select_for_update().values("balance_units", "reserved_units").first()
    return 0 if found is None else found["balance_units"] - found["reserved_units"]


def _reserve(ref: PoolRef, delta: int) -> int:
    rows: QuerySet[KeySpend] | QuerySet[CreditAccount]
    if ref.is_key:
        rows = KeySpend.objects.filter(api_key_id=ref.api_key_id, period_key=ref.period_key)
    else:
        rows = CreditAccount.objects.filter(workspace_id=ref.workspace_id)
    return rows.update(reserved_units=F("reserved_units") + delta)


@transaction.atomic
def lease_borrow(
    *, ref: PoolRef, holder: str, lease_id: int | None, need: int, want: int, share: int = 4
) -> tuple[int | None, int]:
    """Move ``need`` units of the pool's free capacity into the lease (created
    when ``lease_id`` is None or gone), plus headroom up to ``want`` but never
    more than 1/``share`` of what is free, so other processes find credit too.
    Returns ``(lease_id, granted)``; ``granted`` is 0 when not even ``need`` is free."""
    capacity = _capacity(ref)
    if capacity < need or need <= 0:
        return lease_id, 0
    granted = max(need, min(want, capacity // max(share, 1)))
    _reserve(ref, granted)
    now = timezone.now()
    if lease_id is not None and CreditLease.objects.filter(pk=lease_id).update(
        amount_units=F("amount_units") + granted, renewed_at=now
    ):
        return lease_id, granted
    lease = CreditLease.objects.create(
        workspace_id=ref.workspace_id,
        api_key_id=ref.api_key_id,
        period_key=ref.period_key,
        holder=holder,
        amount_units=granted,
        renewed_at=now,
    )
    return lease.pk, granted


@transaction.atomic
def lease_return(*, ref: PoolRef, lease_id: int, units: int) -> int:
    """Give ``units`` of a lease back to its pool (all of it, and the row, when
    that is what is left). Returns what was returned (0 if the lease is gone)."""
    _capacity(ref)  # lock order everywhere: account, key spend, then leases
    lease = CreditLease.objects.select_for_update().filter(pk=lease_id).first()
    if lease is None:
        return 0
    units = min(units, lease.amount_units)
    if units == lease.amount_units:
        lease.delete()
    else:
        CreditLease.objects.filter(pk=lease_id).update(amount_units=F("amount_units") - units)
    if units:
        _reserve(ref, -units)
    return units


def leases_renew(*, lease_ids: list[int]) -> set[int]:
    """Mark the process's leases alive; returns the ids that no longer exist."""
    if not lease_ids:
        return set()
    CreditLease.objects.filter(pk__in=lease_ids).update(renewed_at=timezone.now())
    alive = set(CreditLease.objects.filter(pk__in=lease_ids).values_list("pk", flat=True))
    return set(lease_ids) - alive


def leases_expire(*, older_than: timedelta, workspace_id: int | None = None) -> int:
    """Hand back the leases of processes that stopped renewing them (crashed or
    killed): every process runs this (``CreditBook``), so no scheduler is
    needed. Charges such a process had not yet written are lost with it, as are
    its calls' log rows; the workspace is not charged for them. Returns how
    many leases went back (two processes reclaiming at once: each lease once)."""
    stale = CreditLease.objects.filter(renewed_at__lt=timezone.now() - older_than)
    if workspace_id is not None:
        stale = stale.filter(workspace_id=workspace_id)
    returned = 0
    for lease in stale.iterator():
        ref = PoolRef(lease.workspace_id, lease.api_key_id, lease.period_key)
        if lease_return(ref=ref, lease_id=lease.pk, units=lease.amount_units) or lease.amount_units == 0:
            logger.warning(
                "credit lease %s of %s (%d units) was not renewed since %s: handed back",
                lease.pk,
                lease.holder,
                lease.amount_units,
                lease.renewed_at,
            )
            returned += 1
    return returned


@dataclass(slots=True)
class Posted:
    written: list[Charge]  # with ``charged`` set
    lost_leases: set[int]  # leases that were gone (expired): their share was charged as an overrun

    @property
    def shortfalls(self) -> dict[str, int]:
        """request_id -> what was really taken, for charges the balance could not cover in full."""
        return {c.request_id: c.charged for c in self.written if c.charged < c.units}


@transaction.atomic
def charges_post(charges: list[Charge]) -> Posted:
    """Write a batch of settled calls, once each: ledger entries, balances,
    leases, key spend. A retried charge whose ledger entry already exists (a
    batch that committed before) is left out: it changed nothing, here or in
    the book. Only retried charges are looked up (a charge is settled once, in
    one process); for any other, the ledger's unique key is the backstop: a
    duplicate fails the whole batch (``IntegrityError``), and its retry skips it."""
    keys = {f"charge:{c.request_id}": c for c in charges}
    retried = [key for key, c in keys.items() if c.retried]
    done = (
        set(LedgerEntry.objects.filter(idempotency_key__in=retried).values_list("idempotency_key", flat=True))
        if retried
        else set()
    )
    todo = [c for key, c in keys.items() if key not in done]
    _lock_pools(todo)
    lost = _drop_lost_leases(todo)
    by_workspace: dict[int, list[Charge]] = defaultdict(list)
    for charge in todo:
        by_workspace[charge.workspace_id].append(charge)
    entries = []
    for workspace_id, batch in sorted(by_workspace.items()):
        _collect_overruns(workspace_id, batch)
        taken = sum(c.charged for c in batch)
        covered = sum(c.covered for c in batch)
        if taken or covered:
            CreditAccount.objects.filter(workspace_id=workspace_id).update(
                balance_units=F("balance_units") - taken, reserved_units=F("reserved_units") - covered
            )
        per_lease: dict[int, int] = defaultdict(int)
        for c in batch:
            if c.lease_id is not None and c.covered:
                per_lease[c.lease_id] += c.covered
            if c.charged:
                entries.append((workspace_id, -c.charged, f"charge:{c.request_id}", c.request_id))
        for lease_id, units in per_lease.items():
            CreditLease.objects.filter(pk=lease_id).update(amount_units=F("amount_units") - units)
    _post_key_spend(todo)
    _append_charges(entries)
    return Posted(todo, lost)


CHARGE_COLUMNS = ("workspace_id", "amount_units", "idempotency_key", "request_id")


def _append_charges(entries: list[tuple[int, int, str, str]]) -> None:
    """Charge entries (``CHARGE_COLUMNS``) into the ledger: one ``COPY`` on
    PostgreSQL (the writer thread shares the GIL with the event loop; ~10x
    less CPU per row than ``bulk_create``), ``bulk_create`` elsewhere."""
    if not entries:
        return
    connection = connections[router.db_for_write(LedgerEntry)]
    if connection.vendor != "postgresql":
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(kind=EntryKind.CHARGE, **dict(zip(CHARGE_COLUMNS, entry, strict=True)))
                for entry in entries
            ]
        )
        return
    fixed = (EntryKind.CHARGE.value, "", "", timezone.now())  # stripe_object_id, reason: blank; created_at
    copy_rows(
        connection,
        LedgerEntry,
        (*CHARGE_COLUMNS, "kind", "stripe_object_id", "reason", "created_at"),
        [entry + fixed for entry in entries],
    )


def _lock_pools(charges: list[Charge]) -> None:
    """Row locks in the one order every writer here takes them (accounts, key
    spend rows, leases), so two processes' writers can never deadlock."""
    workspaces = sorted({c.workspace_id for c in charges})
    list(
        CreditAccount.objects.select_for_update()
        .filter(workspace_id__in=workspaces)
        .order_by("pk")
        .values("pk")
    )
    spends = {(c.key_pool.api_key_id, c.key_pool.period_key) for c in charges if c.key_pool is not None}
    for api_key_id, period_key in sorted(spends):
        list(
            KeySpend.objects.select_for_update()
            .filter(api_key_id=api_key_id, period_key=period_key)
            .values("pk")
        )


def _drop_lost_leases(charges: list[Charge]) -> set[int]:
    """A lease that no longer covers what the book says it does (the expiry task
    took it back while this process could not reach the database) covers
    nothing: those charges are collected like overruns instead."""
    wanted: dict[int, int] = defaultdict(int)
    for c in charges:
        if c.lease_id is not None:
            wanted[c.lease_id] += c.covered
        if c.key_lease_id is not None:
            wanted[c.key_lease_id] += c.key_covered
    if not wanted:
        return set()
    have = dict(
        CreditLease.objects.select_for_update()
        .filter(pk__in=sorted(wanted))
        .order_by("pk")
        .values_list("pk", "amount_units")
    )
    lost = {lease_id for lease_id, units in wanted.items() if have.get(lease_id, -1) < units}
    for c in charges:
        if c.lease_id in lost:
            c.covered, c.lease_id = 0, None
        if c.key_lease_id in lost:
            c.key_covered, c.key_lease_id = 0, None
    if lost:
        logger.error("credit leases %s were gone when their charges were written", sorted(lost))
    return lost


def _collect_overruns(workspace_id: int, batch: list[Charge]) -> None:
    """A charge above what its lease covered (the worst case was exceeded) takes
    the rest from the available balance; what even that can't cover is a
    shortfall: logged, never a negative balance."""
    over = sum(c.units - c.covered for c in batch)
    free = _capacity(PoolRef(workspace_id)) if over else 0
    for c in batch:
        extra = min(c.units - c.covered, max(free, 0))
        free -= extra
        c.charged = c.covered + extra
        if c.charged < c.units:
            logger.warning(
                "request %s: charge %d exceeded its hold and the balance; %d units uncollected",
                c.request_id,
                c.units,
                c.units - c.charged,
            )


def _post_key_spend(charges: list[Charge]) -> None:
    spent: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    leases: dict[int, int] = defaultdict(int)
    for c in charges:
        if c.key_pool is None:
            continue
        row = spent[(c.key_pool.api_key_id, c.key_pool.period_key)]  # type: ignore[index]
        row[0] += c.charged
        row[1] += c.key_covered
        if c.key_lease_id is not None and c.key_covered:
            leases[c.key_lease_id] += c.key_covered
    for (api_key_id, period_key), (charged, covered) in spent.items():
        KeySpend.objects.filter(api_key_id=api_key_id, period_key=period_key).update(
            spent_units=F("spent_units") + charged, reserved_units=F("reserved_units") - covered
        )
    for lease_id, units in leases.items():
        CreditLease.objects.filter(pk=lease_id).update(amount_units=F("amount_units") - units)
