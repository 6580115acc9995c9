"""Console: billing (balance, plan, Stripe Checkout top-up and plan change, ledger pages)."""

from __future__ import annotations

import pytest

from billing.models import CreditAccount, LedgerEntry, Plan
from billing.services import credits_grant
from billing.services.plans import plans_ensure_defaults

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plans():
    plans_ensure_defaults()


@pytest.fixture
def stripe_keys(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_console"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_console"


@pytest.fixture
def checkout(monkeypatch):
    """Stripe's Checkout Session API, recorded (no network)."""
    calls = []

    def create(**params):
        calls.append(params)
        return {"id": "cs_test_1", "url": "https://checkout.stripe.com/c/pay/cs_test_1"}

    monkeypatch.setattr("stripe.checkout.Session.create", create)
    return calls


def test_page_says_what_is_missing_without_stripe(workspace, owner_web, settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    page = owner_web.get("/console/billing/").content.decode()
    assert "Payments are not configured" in page
    assert "STRIPE_SECRET_KEY" in page and "STRIPE_WEBHOOK_SECRET" in page
    response = owner_web.post("/console/billing/top-up/", {"pack": "10"}, follow=True)
    assert "Payments are not configured" in response.content.decode()


def test_topup_redirects_to_stripe_and_back(workspace, owner_web, stripe_keys, checkout):
    assert "Payments are not configured" not in owner_web.get("/console/billing/").content.decode()
    response = owner_web.post("/console/billing/top-up/", {"pack": "25"})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://checkout.stripe.com/c/pay/cs_test_1"
    params = checkout[-1]
    assert params["mode"] == "payment" and params["metadata"]["workspace_id"] == str(workspace.pk)
    assert params["line_items"][0]["price_data"]["unit_amount"] == 2500
    assert params["success_url"] == "http://testserver/console/billing/?checkout=success"
    assert params["cancel_url"] == "http://testserver/console/billing/?checkout=canceled"
    back = owner_web.get("/console/billing/?checkout=success", follow=True).content.decode()
    assert "Payment received" in back


def test_unknown_pack_is_an_error_message(workspace, owner_web, stripe_keys, checkout):
    response = owner_web.post("/console/billing/top-up/", {"pack": "999"}, follow=True)
    assert "Unknown credit pack" in response.content.decode()
    assert checkout == []


def test_paid_plan_goes_through_checkout(workspace, owner_web, stripe_keys, checkout):
    Plan.objects.filter(slug="pro").update(stripe_price_id="price_pro")
    response = owner_web.post("/console/billing/plan/", {"plan": "pro"})
    assert response.headers["Location"].startswith("https://checkout.stripe.com/")
    assert checkout[-1]["mode"] == "subscription"
    assert checkout[-1]["line_items"] == [{"price": "price_pro", "quantity": 1}]
    # Not assigned until Stripe's webhook says it is paid.
    assert CreditAccount.objects.get(workspace=workspace).plan.slug == "free"


def test_plan_without_stripe_price_is_not_for_sale(workspace, owner_web, stripe_keys, checkout):
    page = owner_web.get("/console/billing/").content.decode()
    assert "not on sale" in page
    owner_web.post("/console/billing/plan/", {"plan": "starter"})
    assert checkout == []


def test_back_to_free_without_subscription(workspace, owner_web):
    CreditAccount.objects.filter(workspace=workspace).update(plan=Plan.objects.get(slug="pro"))
    owner_web.post("/console/billing/plan/", {"plan": "free"})
    assert CreditAccount.objects.get(workspace=workspace).plan.slug == "free"
    CreditAccount.objects.filter(workspace=workspace).update(
        plan=Plan.objects.get(slug="pro"), stripe_subscription_id="sub_1"
    )
    response = owner_web.post("/console/billing/plan/", {"plan": "free"}, follow=True)
    assert "Cancel the running Stripe subscription" in response.content.decode()
    assert CreditAccount.objects.get(workspace=workspace).plan.slug == "pro"


def test_ledger_pages(workspace, owner_web):
    for i in range(30):
        credits_grant(workspace_id=workspace.pk, units=100 + i, reason=f"entry {i}")
    first = owner_web.get("/console/billing/")
    page = first.context["ledger"]
    assert len(page.entries) == 25 and page.entries[0].reason == "entry 29"
    older = owner_web.get(f"/console/billing/?before={page.next_cursor}").context["ledger"]
    assert [e.reason for e in older.entries][:2] == ["entry 4", "entry 3"]
    assert older.next_cursor is None
    assert 'href="?before=' in first.content.decode()


def test_other_workspace_ledger_is_invisible(workspace, other_workspace, owner_web):
    credits_grant(workspace_id=other_workspace.pk, units=123, reason="theirs-secret")
    theirs = LedgerEntry.objects.get(reason="theirs-secret")
    page = owner_web.get(f"/console/billing/?before={theirs.pk + 1}").content.decode()
    assert "theirs-secret" not in page


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/console/billing/"), ("post", "/console/billing/top-up/"), ("post", "/console/billing/plan/")],
)
def test_members_403_visitors_login(workspace, member_web, anon_web, method, path):
    assert getattr(member_web, method)(path).status_code == 403
    assert getattr(anon_web, method)(path).headers["Location"].startswith("/accounts/login/")


def test_query_count(workspace, owner_web, django_assert_num_queries):
    for i in range(40):
        credits_grant(workspace_id=workspace.pk, units=1, reason=f"e{i}")
    owner_web.get("/console/billing/")
    # session, user, memberships, account+plan, plans, ledger page, balance
    with django_assert_num_queries(7):
        assert owner_web.get("/console/billing/").status_code == 200
