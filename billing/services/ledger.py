"""Ledger writers. Every change of a balance is one ledger entry plus one
conditional UPDATE of the cached balance, in one transaction."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F

from billing.errors import BillingError, BillingErrorCode
from billing.models import CreditAccount, EntryKind, LedgerEntry, Plan


def credit_account_get_or_create(*, workspace_id: int) -> CreditAccount:
    account = CreditAccount.objects.filter(workspace_id=workspace_id).first()
    if account is None:
        account, _ = CreditAccount.objects.get_or_create(
            workspace_id=workspace_id, defaults={"plan": Plan.objects.filter(is_default=True).first()}
        )
    return account


def _post(
    *,
    workspace_id: int,
    kind: EntryKind,
    amount_units: int,
    idempotency_key: str | None = None,
    request_id: str = "",
    stripe_object_id: str = "",
    created_by: User | None = None,
    reason: str = "",
    may_overdraw: bool = False,
) -> LedgerEntry | None:
    """Book one entry and move the balance by its amount. Returns None when an
    entry with the same ``idempotency_key`` already exists (nothing changes).
    Must run inside a transaction."""
    credit_account_get_or_create(workspace_id=workspace_id)
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not poison the outer transaction
            entry = LedgerEntry.objects.create(
                workspace_id=workspace_id,
                kind=kind,
                amount_units=amount_units,
                idempotency_key=idempotency_key,
                request_id=request_id,
                stripe_object_id=stripe_object_id,
                created_by=created_by,
                reason=reason[:500],
            )
    except IntegrityError:
        if idempotency_key and LedgerEntry.objects.filter(idempotency_key=idempotency_key).exists():
            return None
        raise
    accounts = CreditAccount.objects.filter(workspace_id=workspace_id)
    if amount_units < 0 and not may_overdraw:
        # Taking money out may never touch what calls in flight have reserved.
        accounts = accounts.filter(balance_units__gte=F("reserved_units") - amount_units)
    if accounts.update(balance_units=F("balance_units") + amount_units) != 1:
        raise BillingError(
            BillingErrorCode.WOULD_OVERDRAW,
            f"Removing {-amount_units} units would take the available balance below zero.",
        )
    return entry


@transaction.atomic
def credits_grant(
    *,
    workspace_id: int,
    units: int,
    reason: str,
    idempotency_key: str | None = None,
    created_by: User | None = None,
) -> LedgerEntry | None:
    """Free credits: a plan's monthly grant, a welcome grant, an operator's gift."""
    if units <= 0:
        raise BillingError(BillingErrorCode.INVALID_AMOUNT, "A grant must be a positive number of units.")
    return _post(
        workspace_id=workspace_id,
        kind=EntryKind.GRANT,
        amount_units=units,
        idempotency_key=idempotency_key,
        created_by=created_by,
        reason=reason,
    )


@transaction.atomic
def credits_topup(
    *, workspace_id: int, units: int, stripe_object_id: str, reason: str = "Stripe top-up"
) -> LedgerEntry | None:
    """Credits bought. Booked once per Stripe payment, whatever Stripe replays."""
    if units <= 0:
        raise BillingError(BillingErrorCode.INVALID_AMOUNT, "A top-up must be a positive number of units.")
    return _post(
        workspace_id=workspace_id,
        kind=EntryKind.TOPUP,
        amount_units=units,
        idempotency_key=f"topup:{stripe_object_id}",
        stripe_object_id=stripe_object_id,
        reason=reason,
    )


@transaction.atomic
def credits_refund(
    *, workspace_id: int, request_id: str, units: int, reason: str, created_by: User | None = None
) -> LedgerEntry | None:
    """Give back (part of) what one request was charged; at most once per request."""
    charge = LedgerEntry.objects.filter(
        workspace_id=workspace_id, kind=EntryKind.CHARGE, request_id=request_id
    ).first()
    if charge is None:
        raise BillingError(BillingErrorCode.INVALID_AMOUNT, f"Request {request_id} was not charged.")
    if units <= 0 or units > -charge.amount_units:
        raise BillingError(
            BillingErrorCode.INVALID_AMOUNT,
            f"A refund must be between 1 and {-charge.amount_units} units (what was charged).",
        )
    return _post(
        workspace_id=workspace_id,
        kind=EntryKind.REFUND,
        amount_units=units,
        idempotency_key=f"refund:{request_id}",
        request_id=request_id,
        created_by=created_by,
        reason=reason,
    )


@transaction.atomic
def credits_reverse(
    *, workspace_id: int, units: int, stripe_object_id: str, idempotency_key: str, reason: str
) -> LedgerEntry | None:
    """Stripe took money back (a refund or a dispute: ``units`` < 0) or returned
    it (a won dispute: ``units`` > 0). Taking back may go below zero: credit
    already spent is owed, and calls are refused until a top-up covers it."""
    if units == 0:
        raise BillingError(BillingErrorCode.INVALID_AMOUNT, "A reversal must not be zero.")
    return _post(
        workspace_id=workspace_id,
        kind=EntryKind.REVERSAL,
        amount_units=units,
        idempotency_key=idempotency_key,
        stripe_object_id=stripe_object_id,
        reason=reason,
        may_overdraw=True,
    )


@transaction.atomic
def credits_adjust(*, workspace_id: int, units: int, reason: str, created_by: User | None) -> LedgerEntry:
    """An operator's correction, either sign. Who and why are required."""
    if units == 0:
        raise BillingError(BillingErrorCode.INVALID_AMOUNT, "An adjustment must not be zero.")
    if not reason.strip():
        raise BillingError(BillingErrorCode.INVALID_AMOUNT, "An adjustment needs a reason.")
    if created_by is None:
        raise BillingError(BillingErrorCode.INVALID_AMOUNT, "An adjustment needs the person who made it.")
    entry = _post(
        workspace_id=workspace_id,
        kind=EntryKind.ADJUSTMENT,
        amount_units=units,
        created_by=created_by,
        reason=reason,
    )
    assert entry is not None  # adjustments carry no idempotency key
    return entry
