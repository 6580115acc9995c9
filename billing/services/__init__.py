"""Billing writers: the only code that changes billing state.

``ledger``: grants, top-ups, refunds, adjustments (every balance change is a ledger entry).
``reservations``: hold credits before a call, settle (charge + release) after it.
``plans``: plan assignment and the monthly grant.
``payments``: Stripe Checkout and webhooks.
"""

from billing.services.ledger import (
    credit_account_get_or_create,
    credits_adjust,
    credits_grant,
    credits_refund,
    credits_topup,
)
from billing.services.reservations import (
    ReservationHandle,
    SettleResult,
    reservation_create,
    reservation_settle,
    reservations_expire,
)

__all__ = [
    "ReservationHandle",
    "SettleResult",
    "credit_account_get_or_create",
    "credits_adjust",
    "credits_grant",
    "credits_refund",
    "credits_topup",
    "reservation_create",
    "reservation_settle",
    "reservations_expire",
]
