"""Stripe refunds and disputes of credit top-ups.

A paid top-up is remembered by its PaymentIntent (``StripePayment``). A refund
(``charge.refunded``, whose ``amount_refunded`` is the running total) or a
dispute (``charge.dispute.created``) takes the credited amount back with one
``reversal`` ledger entry per Stripe event; a won dispute
(``charge.dispute.closed``, status ``won``) gives it back. Together they never
take back more than was credited. The balance may go below zero: calls are
then refused (402) until a top-up covers it.
"""

from __future__ import annotations

from typing import Any

from billing.models import LedgerEntry, StripePayment
from billing.services.ledger import credits_reverse

UNITS_PER_CENT = 100


def stripe_payment_record(
    *, workspace_id: int, payment_intent: str, checkout_session: str, credited_units: int
) -> None:
    """Remember a credited top-up's payment (once; called with its ledger entry)."""
    StripePayment.objects.get_or_create(
        payment_intent=payment_intent,
        defaults={
            "workspace_id": workspace_id,
            "checkout_session": checkout_session,
            "credited_units": credited_units,
        },
    )


def _payment(obj: dict[str, Any]) -> StripePayment | None:
    """The top-up a charge, refund or dispute object is about, row-locked."""
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    if not isinstance(intent, str) or not intent:
        return None
    return StripePayment.objects.select_for_update().filter(payment_intent=intent).first()


def _cents(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def charge_refunded(*, charge: dict[str, Any], event_id: str) -> str:
    """Take back what was refunded since the last refund event of this payment."""
    payment = _payment(charge)
    if payment is None:
        return "ignored: not a top-up"
    refunded_total = min(_cents(charge.get("amount_refunded")) * UNITS_PER_CENT, payment.credited_units)
    units = min(refunded_total - payment.refunded_units, payment.remaining_units)
    if units <= 0:
        return "already reversed"
    credits_reverse(
        workspace_id=payment.workspace_id,
        units=-units,
        stripe_object_id=str(charge.get("id") or payment.payment_intent),
        idempotency_key=f"reversal:{event_id}",
        reason=f"Stripe refund of top-up {payment.checkout_session or payment.payment_intent}",
    )
    StripePayment.objects.filter(pk=payment.pk).update(refunded_units=payment.refunded_units + units)
    return "refund reversed"


def dispute_created(*, dispute: dict[str, Any]) -> str:
    """Take back the disputed amount (what is left of the top-up, at most)."""
    payment = _payment(dispute)
    dispute_id = dispute.get("id")
    if payment is None or not isinstance(dispute_id, str):
        return "ignored: not a top-up"
    units = min(_cents(dispute.get("amount")) * UNITS_PER_CENT, payment.remaining_units)
    if units <= 0:
        return "already reversed"
    entry = credits_reverse(
        workspace_id=payment.workspace_id,
        units=-units,
        stripe_object_id=dispute_id,
        idempotency_key=f"reversal:dispute:{dispute_id}",
        reason=f"Stripe dispute of top-up {payment.checkout_session or payment.payment_intent}",
    )
    if entry is None:
        return "already reversed"
    StripePayment.objects.filter(pk=payment.pk).update(disputed_units=payment.disputed_units + units)
    return "dispute reversed"


def dispute_closed(*, dispute: dict[str, Any]) -> str:
    """A dispute the merchant won: give back what its opening took."""
    payment = _payment(dispute)
    dispute_id = dispute.get("id")
    if payment is None or not isinstance(dispute_id, str):
        return "ignored: not a top-up"
    if dispute.get("status") != "won":
        return f"dispute {dispute.get('status')}"
    taken = LedgerEntry.objects.filter(idempotency_key=f"reversal:dispute:{dispute_id}").first()
    if taken is None:
        return "ignored: nothing was taken"
    entry = credits_reverse(
        workspace_id=payment.workspace_id,
        units=-taken.amount_units,
        stripe_object_id=dispute_id,
        idempotency_key=f"reinstated:dispute:{dispute_id}",
        reason=f"Stripe dispute won: top-up {payment.checkout_session or payment.payment_intent}",
    )
    if entry is None:
        return "already reinstated"
    StripePayment.objects.filter(pk=payment.pk).update(
        disputed_units=payment.disputed_units + taken.amount_units
    )
    return "dispute reinstated"
