"""Stripe: Checkout Sessions for credit packs and plan subscriptions, and the
webhook events that credit workspaces.

Every event is recorded (``StripeEvent``) in the same transaction as its
effect, so a replay changes nothing; each effect is also keyed by its Stripe
object (a top-up by its Checkout Session, a grant by workspace, plan and
month), so two different events about the same payment credit it once.
Refunds and disputes of top-ups take the credit back (``reversals``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import Workspace
from billing.errors import BillingError, BillingErrorCode
from billing.models import CreditAccount, Plan, PlanStatus, StripeEvent
from billing.services.ledger import credit_account_get_or_create, credits_topup
from billing.services.plans import grant_period, plan_assign, plan_grant_for_period
from billing.services.reversals import (
    UNITS_PER_CENT,
    charge_refunded,
    dispute_closed,
    dispute_created,
    stripe_payment_record,
)

logger = logging.getLogger("junction.billing.stripe")

TOPUP = "topup"
SUBSCRIPTION = "subscription"


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    session_id: str
    url: str


def _require_stripe() -> str:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingError(BillingErrorCode.PAYMENTS_NOT_CONFIGURED, "Payments are not configured.")
    return settings.STRIPE_SECRET_KEY


def checkout_topup_create(
    *, workspace_id: int, pack: str, success_url: str = "", cancel_url: str = ""
) -> CheckoutLink:
    """A Checkout Session for one credit pack. The webhook credits what was paid.
    Stripe sends the payer back to ``success_url`` / ``cancel_url`` (default:
    ``STRIPE_SUCCESS_URL`` / ``STRIPE_CANCEL_URL``)."""
    cents = settings.CREDIT_PACKS.get(pack)
    if cents is None:
        raise BillingError(
            BillingErrorCode.UNKNOWN_PACK,
            f"Unknown credit pack '{pack}'; choose one of {sorted(settings.CREDIT_PACKS)}.",
        )
    session = stripe.checkout.Session.create(
        api_key=_require_stripe(),
        mode="payment",
        line_items=[
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": cents,
                    "product_data": {"name": f"Junction credits: {cents} credits (${cents / 100:.2f})"},
                },
            }
        ],
        client_reference_id=str(workspace_id),
        metadata={"kind": TOPUP, "workspace_id": str(workspace_id), "pack": pack},
        success_url=success_url or settings.STRIPE_SUCCESS_URL,
        cancel_url=cancel_url or settings.STRIPE_CANCEL_URL,
    )
    return CheckoutLink(session_id=session["id"], url=session["url"])


def checkout_subscription_create(
    *, workspace_id: int, plan_slug: str, success_url: str = "", cancel_url: str = ""
) -> CheckoutLink:
    plan = Plan.objects.filter(slug=plan_slug).exclude(stripe_price_id="").first()
    if plan is None:
        raise BillingError(BillingErrorCode.UNKNOWN_PLAN, f"There is no paid plan '{plan_slug}'.")
    metadata = {"kind": SUBSCRIPTION, "workspace_id": str(workspace_id), "plan": plan.slug}
    account = credit_account_get_or_create(workspace_id=workspace_id)
    params: dict[str, Any] = {
        "api_key": _require_stripe(),
        "mode": "subscription",
        "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
        "client_reference_id": str(workspace_id),
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
        "success_url": success_url or settings.STRIPE_SUCCESS_URL,
        "cancel_url": cancel_url or settings.STRIPE_CANCEL_URL,
    }
    if account.stripe_customer_id:
        params["customer"] = account.stripe_customer_id
    session = stripe.checkout.Session.create(**params)
    return CheckoutLink(session_id=session["id"], url=session["url"])


# ------------------------------------------------------------------ webhooks


def stripe_event_verify(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Check Stripe's signature; return the event as plain data."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise BillingError(BillingErrorCode.PAYMENTS_NOT_CONFIGURED, "The Stripe webhook secret is not set.")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise BillingError(BillingErrorCode.INVALID_WEBHOOK, f"Invalid Stripe webhook: {exc}") from None
    return event.to_dict()


def stripe_event_handle(*, event: dict[str, Any]) -> str:
    """Apply one verified event, once. Returns what happened (for the response and logs)."""
    event_id, kind = event.get("id"), event.get("type", "")
    if not isinstance(event_id, str):
        raise BillingError(BillingErrorCode.INVALID_WEBHOOK, "The event has no id.")
    obj = (event.get("data") or {}).get("object") or {}
    try:
        with transaction.atomic():
            StripeEvent.objects.create(event_id=event_id, type=kind)
            return _apply(kind, obj, event)
    except IntegrityError:
        if StripeEvent.objects.filter(event_id=event_id).exists():
            return "duplicate"
        raise


def _apply(kind: str, obj: dict[str, Any], event: dict[str, Any]) -> str:
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        return _checkout_completed(obj)
    if kind in ("invoice.paid", "invoice.payment_succeeded"):
        return _invoice_paid(obj)
    if kind == "customer.subscription.updated":
        return _subscription_updated(obj)
    if kind == "customer.subscription.deleted":
        return _subscription_deleted(obj)
    if kind == "charge.refunded":
        return charge_refunded(charge=obj, event_id=str(event["id"]))
    if kind == "charge.dispute.created":
        return dispute_created(dispute=obj)
    if kind == "charge.dispute.closed":
        return dispute_closed(dispute=obj)
    return "ignored"


def _workspace_id(metadata: Any) -> int | None:
    if isinstance(metadata, dict):
        value = metadata.get("workspace_id")
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def _checkout_completed(session: dict[str, Any]) -> str:
    metadata = session.get("metadata") or {}
    workspace_id = _workspace_id(metadata)
    if workspace_id is None or not Workspace.objects.filter(pk=workspace_id).exists():
        return "ignored: no workspace"
    if session.get("payment_status") != "paid":
        return "pending payment"
    if metadata.get("kind") == TOPUP and session.get("mode") == "payment":
        cents = session.get("amount_total")
        if not isinstance(cents, int) or cents <= 0:
            return "ignored: no amount"
        units = cents * UNITS_PER_CENT  # the pack credits exactly what was paid
        entry = credits_topup(
            workspace_id=workspace_id,
            units=units,
            stripe_object_id=str(session["id"]),
            reason=f"Stripe top-up ({metadata.get('pack', '')})",
        )
        intent = session.get("payment_intent")
        if entry and isinstance(intent, str) and intent:  # what a refund or dispute will name
            stripe_payment_record(
                workspace_id=workspace_id,
                payment_intent=intent,
                checkout_session=str(session["id"]),
                credited_units=units,
            )
        return "credited" if entry else "already credited"
    if metadata.get("kind") == SUBSCRIPTION and session.get("mode") == "subscription":
        plan_assign(
            workspace_id=workspace_id,
            plan_slug=str(metadata.get("plan", "")),
            status=PlanStatus.ACTIVE,
            stripe_customer_id=str(session.get("customer") or ""),
            stripe_subscription_id=str(session.get("subscription") or ""),
        )
        return "subscribed"
    return "ignored"


def _invoice_metadata(invoice: dict[str, Any]) -> dict[str, Any]:
    parent = invoice.get("parent") or {}
    for details in (parent.get("subscription_details"), invoice.get("subscription_details")):
        if isinstance(details, dict) and isinstance(details.get("metadata"), dict) and details["metadata"]:
            return details["metadata"]
    for line in (invoice.get("lines") or {}).get("data") or []:
        if isinstance(line, dict) and isinstance(line.get("metadata"), dict) and line["metadata"]:
            return line["metadata"]
    return {}


def _invoice_subscription(invoice: dict[str, Any]) -> str:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    sub = details.get("subscription") or invoice.get("subscription") or ""
    return sub if isinstance(sub, str) else str(sub.get("id", ""))


def _invoice_paid(invoice: dict[str, Any]) -> str:
    metadata = _invoice_metadata(invoice)
    workspace_id = _workspace_id(metadata)
    customer = invoice.get("customer") or ""
    if workspace_id is None and customer:
        account = CreditAccount.objects.filter(stripe_customer_id=customer).first()
        workspace_id = account.workspace_id if account else None
    plan = Plan.objects.filter(slug=metadata.get("plan", "")).first()
    if plan is None and workspace_id is not None:
        account = CreditAccount.objects.select_related("plan").filter(workspace_id=workspace_id).first()
        plan = account.plan if account else None
    if workspace_id is None or plan is None:
        return "ignored: unknown subscription"
    plan_assign(
        workspace_id=workspace_id,
        plan_slug=plan.slug,
        status=PlanStatus.ACTIVE,
        stripe_customer_id=str(customer),
        stripe_subscription_id=_invoice_subscription(invoice),
    )
    paid_at = invoice.get("created")
    when = datetime.fromtimestamp(paid_at, tz=UTC) if isinstance(paid_at, int) else datetime.now(UTC)
    entry = plan_grant_for_period(workspace_id=workspace_id, plan=plan, period=grant_period(when))
    return "granted" if entry else "already granted"


def _subscription_account(subscription: dict[str, Any]) -> CreditAccount | None:
    sub_id = subscription.get("id")
    if not sub_id:
        return None
    return CreditAccount.objects.filter(stripe_subscription_id=sub_id).first()


def _subscription_updated(subscription: dict[str, Any]) -> str:
    account = _subscription_account(subscription)
    if account is None:
        return "ignored: unknown subscription"  # e.g. a late event about an ended subscription
    status = subscription.get("status")
    new = PlanStatus.ACTIVE if status in ("active", "trialing") else PlanStatus.PAST_DUE
    if account.plan_status != new:
        CreditAccount.objects.filter(pk=account.pk).update(plan_status=new)
    return f"status {new}"


def _subscription_deleted(subscription: dict[str, Any]) -> str:
    account = _subscription_account(subscription)
    if account is None:
        return "ignored: unknown subscription"
    default = Plan.objects.filter(is_default=True).first()
    plan_assign(workspace_id=account.workspace_id, plan_slug=default.slug if default else "free")
    CreditAccount.objects.filter(pk=account.pk).update(stripe_subscription_id="")
    return "canceled"
