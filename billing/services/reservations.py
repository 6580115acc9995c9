"""Reservations: hold the worst-case charge before a call, settle after it.

Both are one transaction of conditional UPDATEs, so concurrent calls from one
workspace can never reserve more than its available balance (no
check-then-charge race), and a reservation is closed exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from billing.errors import BillingError, BillingErrorCode
from billing.models import (
    CreditAccount,
    EntryKind,
    KeySpend,
    LedgerEntry,
    Reservation,
    ReservationStatus,
    SpendPeriod,
)
from billing.money import units_to_usd

logger = logging.getLogger("junction.billing")


@dataclass(frozen=True, slots=True)
class SpendCap:
    limit_units: int
    period: SpendPeriod


@dataclass(frozen=True, slots=True)
class ReservationHandle:
    request_id: str
    workspace_id: int
    api_key_id: int | None
    amount_units: int
    spend_period_key: str  # "" when the key has no spend cap


@dataclass(frozen=True, slots=True)
class SettleResult:
    charged_units: int
    shortfall_units: int  # charge the balance could not cover (never taken below zero)
    already_closed: bool = False


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


def _hold_without_waiting_for_disk() -> None:
    """A hold is on the hot path and is recoverable: if the server dies before
    the commit reaches disk, the hold is gone with the call it covered. So on
    PostgreSQL its transaction does not wait for the WAL flush (still atomic,
    still ordered; only the last few hundred ms can be lost in a crash).
    Settlements, which write the ledger, keep full durability."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@transaction.atomic
def reservation_create(
    *,
    request_id: str,
    workspace_id: int,
    api_key_id: int | None,
    amount_units: int,
    spend_cap: SpendCap | None = None,
) -> ReservationHandle:
    """Hold ``amount_units`` of the workspace's available balance, or raise
    ``BillingError`` (nothing held) when it or the key's spend cap can't cover it."""
    if amount_units < 0:
        raise BillingError(BillingErrorCode.INVALID_AMOUNT, "A reservation must not be negative.")
    _hold_without_waiting_for_disk()
    period_key = ""
    if spend_cap is not None and api_key_id is not None:
        now = timezone.now()
        period_key = spend_period_key(spend_cap.period, now)
        KeySpend.objects.bulk_create(
            [KeySpend(api_key_id=api_key_id, period_key=period_key)], ignore_conflicts=True
        )
        held = KeySpend.objects.filter(
            api_key_id=api_key_id,
            period_key=period_key,
            spent_units__lte=spend_cap.limit_units - amount_units - F("reserved_units"),
        ).update(reserved_units=F("reserved_units") + amount_units)
        if held != 1:
            end = spend_period_end(spend_cap.period, now)
            when = f" It resets at {end:%Y-%m-%d %H:%M} UTC." if end else ""
            raise BillingError(
                BillingErrorCode.SPEND_LIMIT_REACHED,
                f"This API key reached its {spend_cap.period} spend limit of "
                f"${units_to_usd(spend_cap.limit_units)} (this call could cost up to "
                f"${units_to_usd(amount_units)}).{when}",
            )
    held = CreditAccount.objects.filter(
        workspace_id=workspace_id, balance_units__gte=F("reserved_units") + amount_units
    ).update(reserved_units=F("reserved_units") + amount_units)
    if held != 1:
        raise BillingError(
            BillingErrorCode.INSUFFICIENT_CREDITS,
            f"Your credit balance is too low for this call (it could cost up to "
            f"${units_to_usd(amount_units)}). Top up your credits to continue.",
        )
    Reservation.objects.create(
        request_id=request_id,
        workspace_id=workspace_id,
        api_key_id=api_key_id,
        amount_units=amount_units,
        spend_period_key=period_key,
    )
    return ReservationHandle(
        request_id=request_id,
        workspace_id=workspace_id,
        api_key_id=api_key_id,
        amount_units=amount_units,
        spend_period_key=period_key,
    )


@transaction.atomic
def reservation_settle(*, handle: ReservationHandle, charge_units: int) -> SettleResult:
    """Charge ``charge_units`` and release the rest of the reservation, once.

    A charge above the reservation (the estimate was low) takes the overrun
    from the available balance; what even that can't cover is recorded as a
    shortfall, never as a negative balance. ``charge_units == 0`` is a release.
    """
    charge_units = max(charge_units, 0)
    now = timezone.now()
    # The conditional UPDATE is the once-only guard: a second settle (or the
    # sweeper racing a late settle) finds no open row and changes nothing.
    closed = Reservation.objects.filter(request_id=handle.request_id, status=ReservationStatus.OPEN).update(
        status=ReservationStatus.SETTLED if charge_units else ReservationStatus.RELEASED,
        closed_at=now,
        charged_units=min(charge_units, handle.amount_units),
    )
    if closed != 1:
        return SettleResult(charged_units=0, shortfall_units=0, already_closed=True)
    held = handle.amount_units
    charged = charge_units
    shortfall = 0
    if charge_units > held:
        account = CreditAccount.objects.select_for_update().get(workspace_id=handle.workspace_id)
        collectible = held + max(account.balance_units - account.reserved_units, 0)
        charged = min(charge_units, collectible)
        shortfall = charge_units - charged
    CreditAccount.objects.filter(workspace_id=handle.workspace_id).update(
        balance_units=F("balance_units") - charged, reserved_units=F("reserved_units") - held
    )
    if charged != min(charge_units, held):  # an overrun: record what was really taken
        Reservation.objects.filter(request_id=handle.request_id).update(charged_units=charged)
    if charged:
        LedgerEntry.objects.create(
            workspace_id=handle.workspace_id,
            kind=EntryKind.CHARGE,
            amount_units=-charged,
            idempotency_key=f"charge:{handle.request_id}",
            request_id=handle.request_id,
        )
    if handle.spend_period_key and handle.api_key_id is not None:
        KeySpend.objects.filter(api_key_id=handle.api_key_id, period_key=handle.spend_period_key).update(
            spent_units=F("spent_units") + charged, reserved_units=F("reserved_units") - held
        )
    if shortfall:
        logger.warning(
            "request %s: charge %d exceeded reservation %d and the balance; %d units uncollected",
            handle.request_id,
            charge_units,
            held,
            shortfall,
        )
    return SettleResult(charged_units=charged, shortfall_units=shortfall)


def reservations_expire(*, older_than: timedelta) -> int:
    """Close reservations a crashed process left open: charge what the call's
    log row says it cost, or release when no row was written."""
    from gateway.models import RequestLog

    cutoff = timezone.now() - older_than
    closed = 0
    stale = Reservation.objects.filter(status=ReservationStatus.OPEN, created_at__lt=cutoff)
    for res in stale.iterator():
        logged = (
            RequestLog.objects.filter(request_id=res.request_id)
            .values_list("charged_units", flat=True)
            .first()
        )
        result = reservation_settle(
            handle=ReservationHandle(
                request_id=res.request_id,
                workspace_id=res.workspace_id,
                api_key_id=res.api_key_id,
                amount_units=res.amount_units,
                spend_period_key=res.spend_period_key,
            ),
            charge_units=logged or 0,
        )
        closed += 0 if result.already_closed else 1
    return closed
