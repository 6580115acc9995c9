"""Stripe: Checkout links, signed webhooks, exactly-once crediting."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from django.test import Client

from billing.models import CreditAccount, EntryKind, LedgerEntry, Plan, PlanStatus, StripeEvent
from billing.selectors import ledger_mismatches
from tests.billing.conftest import balance

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_junction"
URL = "/billing/stripe/webhook"


@pytest.fixture(autouse=True)
def stripe_settings(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_SECRET_KEY = "sk_test_local"


def sign(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    t = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def deliver(event: dict, *, secret: str = SECRET, timestamp: int | None = None):
    payload = json.dumps(event).encode()
    return Client().post(
        URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload, secret, timestamp)
    )


def event(event_id: str, kind: str, obj: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def topup_session(
    workspace_id: int, session_id: str = "cs_test_1", cents: int = 2_500, paid: bool = True
) -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid" if paid else "unpaid",
        "amount_total": cents,
        "currency": "usd",
        "client_reference_id": str(workspace_id),
        "metadata": {"kind": "topup", "workspace_id": str(workspace_id), "pack": "25"},
    }


def test_completed_checkout_credits_exactly_once(workspace):
    before = balance(workspace.pk)[0]
    first = deliver(event("evt_1", "checkout.session.completed", topup_session(workspace.pk)))
    assert first.status_code == 200 and first.json()["outcome"] == "credited"
    assert balance(workspace.pk)[0] == before + 250_000  # $25 = 250,000 units = 2,500 credits
    # A replay of the same event, and a second event about the same payment, change nothing.
    assert (
        deliver(event("evt_1", "checkout.session.completed", topup_session(workspace.pk))).json()["outcome"]
        == "duplicate"
    )
    again = deliver(event("evt_2", "checkout.session.async_payment_succeeded", topup_session(workspace.pk)))
    assert again.json()["outcome"] == "already credited"
    assert balance(workspace.pk)[0] == before + 250_000
    entry = LedgerEntry.objects.get(kind=EntryKind.TOPUP)
    assert entry.stripe_object_id == "cs_test_1" and entry.amount_units == 250_000
    assert ledger_mismatches() == []


def test_unpaid_session_credits_nothing_until_paid(workspace):
    before = balance(workspace.pk)[0]
    pending = deliver(
        event("evt_p1", "checkout.session.completed", topup_session(workspace.pk, "cs_async", paid=False))
    )
    assert pending.json()["outcome"] == "pending payment" and balance(workspace.pk)[0] == before
    paid = deliver(
        event("evt_p2", "checkout.session.async_payment_succeeded", topup_session(workspace.pk, "cs_async"))
    )
    assert paid.json()["outcome"] == "credited" and balance(workspace.pk)[0] == before + 250_000


def test_bad_signatures_are_refused(workspace):
    body = event("evt_bad", "checkout.session.completed", topup_session(workspace.pk))
    assert deliver(body, secret="whsec_wrong").status_code == 400
    assert deliver(body, timestamp=int(time.time()) - 3600).status_code == 400  # outside the tolerance
    payload = json.dumps(body).encode()
    assert Client().post(URL, payload, content_type="application/json").status_code == 400  # unsigned
    tampered = Client().post(
        URL,
        payload.replace(b"2500", b"9999"),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert tampered.status_code == 400
    assert not StripeEvent.objects.exists() and not LedgerEntry.objects.filter(kind=EntryKind.TOPUP).exists()


def test_unconfigured_webhook_is_503(workspace, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert (
        deliver(event("evt_x", "checkout.session.completed", topup_session(workspace.pk))).status_code == 503
    )


def paid_invoice(
    workspace_id: int, invoice_id: str, plan: str = "starter", created: int | None = None
) -> dict:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": "cus_test_1",
        "status": "paid",
        "created": created or int(time.time()),
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": "sub_test_1",
                "metadata": {"kind": "subscription", "workspace_id": str(workspace_id), "plan": plan},
            },
        },
    }


def test_paid_invoice_activates_the_plan_and_grants_once_per_month(workspace):
    before = balance(workspace.pk)[0]
    deliver(event("evt_i1", "invoice.paid", paid_invoice(workspace.pk, "in_1")))
    account = CreditAccount.objects.select_related("plan").get(workspace=workspace)
    assert account.plan.slug == "starter" and account.plan_status == PlanStatus.ACTIVE
    assert (account.stripe_customer_id, account.stripe_subscription_id) == ("cus_test_1", "sub_test_1")
    assert balance(workspace.pk)[0] == before + 50_000  # 500 credits
    # invoice.payment_succeeded about the same payment, and a replay: nothing more.
    assert (
        deliver(event("evt_i2", "invoice.payment_succeeded", paid_invoice(workspace.pk, "in_1"))).json()[
            "outcome"
        ]
        == "already granted"
    )
    assert (
        deliver(event("evt_i1", "invoice.paid", paid_invoice(workspace.pk, "in_1"))).json()["outcome"]
        == "duplicate"
    )
    # Next month's invoice grants again.
    next_month = int(datetime(2099, 1, 15, tzinfo=UTC).timestamp())
    deliver(event("evt_i3", "invoice.paid", paid_invoice(workspace.pk, "in_2", created=next_month)))
    assert balance(workspace.pk)[0] == before + 100_000
    assert LedgerEntry.objects.filter(kind=EntryKind.GRANT, reason__startswith="Starter").count() == 2


def test_subscription_lifecycle_and_out_of_order_events(workspace):
    deliver(event("evt_s1", "invoice.paid", paid_invoice(workspace.pk, "in_s")))
    sub = {"id": "sub_test_1", "object": "subscription", "status": "past_due", "customer": "cus_test_1"}
    assert (
        deliver(event("evt_s2", "customer.subscription.updated", sub)).json()["outcome"] == "status past_due"
    )
    deliver(event("evt_s3", "customer.subscription.deleted", {**sub, "status": "canceled"}))
    account = CreditAccount.objects.select_related("plan").get(workspace=workspace)
    assert account.plan.slug == "free" and account.stripe_subscription_id == ""
    # A late "active" update about the ended subscription changes nothing.
    late = deliver(event("evt_s0", "customer.subscription.updated", {**sub, "status": "active"}))
    assert late.json()["outcome"].startswith("ignored")
    assert CreditAccount.objects.get(workspace=workspace).plan.slug == "free"


def test_checkout_links_for_packs_and_plans(manage_client, workspace, monkeypatch):
    import stripe

    calls = []

    def fake_create(**params):
        calls.append(params)
        return {"id": f"cs_test_{len(calls)}", "url": f"https://checkout.stripe.test/{len(calls)}"}

    monkeypatch.setattr(stripe.checkout.Session, "create", fake_create)
    resp = manage_client.post("/api/manage/billing/checkout", {"pack": "25"}, format="json")
    assert resp.status_code == 201 and resp.json()["url"] == "https://checkout.stripe.test/1"
    params = calls[0]
    assert params["mode"] == "payment" and params["line_items"][0]["price_data"]["unit_amount"] == 2_500
    assert params["metadata"] == {"kind": "topup", "workspace_id": str(workspace.pk), "pack": "25"}
    assert manage_client.post("/api/manage/billing/checkout", {"pack": "7"}, format="json").status_code == 400

    Plan.objects.filter(slug="starter").update(stripe_price_id="price_starter")
    resp = manage_client.post("/api/manage/billing/checkout", {"plan": "starter"}, format="json")
    assert resp.status_code == 201
    assert calls[1]["mode"] == "subscription" and calls[1]["line_items"] == [
        {"price": "price_starter", "quantity": 1}
    ]
    assert calls[1]["subscription_data"]["metadata"]["plan"] == "starter"


def test_management_credits_and_ledger(manage_client, workspace):
    credits = manage_client.get("/api/manage/billing/credits").json()
    assert credits["balance_units"] == balance(workspace.pk)[0] and credits["plan"] == "free"
    ledger = manage_client.get("/api/manage/billing/ledger").json()
    assert ledger["data"][0]["kind"] == "grant"
