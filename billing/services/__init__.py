"""Billing writers: the only code that changes billing state.

``ledger``: grants, top-ups, refunds, adjustments (every balance change is a ledger entry).
``leases``: credit leased to server processes (``billing.book`` holds calls against it) and
  their calls' charges, written in batches.
``plans``: plan assignment and the monthly grant.
``payments``: Stripe Checkout and webhooks; ``reversals``: Stripe refunds and disputes.
"""

from billing.services.leases import charges_post, lease_borrow, lease_return, leases_expire
from billing.services.ledger import (
    credit_account_get_or_create,
    credits_adjust,
    credits_grant,
    credits_refund,
    credits_reverse,
    credits_topup,
)

__all__ = [
    "charges_post",
    "credit_account_get_or_create",
    "credits_adjust",
    "credits_grant",
    "credits_refund",
    "credits_reverse",
    "credits_topup",
    "lease_borrow",
    "lease_return",
    "leases_expire",
]
