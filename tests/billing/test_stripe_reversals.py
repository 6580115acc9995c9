"""Stripe refunds and disputes of top-ups, through signed webhooks: the credit
is taken back once per Stripe event, the balance may go below zero and then
calls are refused (402) until a top-up; the ledger still adds up."""

from __future__ import annotations

import openai
import pytest
from django.core.management import call_command

from billing.models import EntryKind, LedgerEntry, StripePayment
from billing.selectors import ledger_mismatches
from tests.billing.conftest import PRICES, balance, set_balance, set_prices, wait_settled
from tests.billing.test_stripe import deliver, event, stripe_settings, topup_session  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

INTENT = "pi_test_1"


def paid_topup(workspace_id: int, *, session_id: str = "cs_test_1", intent: str = INTENT, cents: int = 2_500):
    return {**topup_session(workspace_id, session_id, cents), "payment_intent": intent}


def charge(*, refunded_cents: int, intent: str = INTENT, cents: int = 2_500) -> dict:
    return {
        "id": "ch_test_1",
        "object": "charge",
        "amount": cents,
        "amount_refunded": refunded_cents,
        "refunded": refunded_cents == cents,
        "payment_intent": intent,
        "currency": "usd",
    }


def dispute(dispute_id: str = "dp_test_1", *, cents: int = 2_500, status: str = "needs_response") -> dict:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": cents,
        "charge": "ch_test_1",
        "payment_intent": INTENT,
        "status": status,
        "currency": "usd",
    }


def reversals() -> list[int]:
    return list(
        LedgerEntry.objects.filter(kind=EntryKind.REVERSAL)
        .order_by("id")
        .values_list("amount_units", flat=True)
    )


def test_a_refund_takes_the_top_up_back_once_per_event(workspace):
    set_balance(workspace.pk, 0)
    assert deliver(event("evt_pay", "checkout.session.completed", paid_topup(workspace.pk))).json()[
        "outcome"
    ] == ("credited")
    assert balance(workspace.pk)[0] == 250_000
    # a partial refund of $10, replayed: taken back once
    partial = event("evt_r1", "charge.refunded", charge(refunded_cents=1_000))
    assert deliver(partial).json()["outcome"] == "refund reversed"
    assert deliver(partial).json()["outcome"] == "duplicate"
    assert balance(workspace.pk)[0] == 150_000
    # the rest: Stripe's amount_refunded is the running total
    assert deliver(event("evt_r2", "charge.refunded", charge(refunded_cents=2_500))).json()["outcome"] == (
        "refund reversed"
    )
    # another event about the same total refund takes nothing more
    assert deliver(event("evt_r3", "charge.refunded", charge(refunded_cents=2_500))).json()["outcome"] == (
        "already reversed"
    )
    assert balance(workspace.pk)[0] == 0 and reversals() == [-100_000, -150_000]
    entry = LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).first()
    assert entry.stripe_object_id == "ch_test_1" and "refund" in entry.reason
    assert ledger_mismatches() == []
    call_command("verify_ledger")


def test_a_dispute_takes_it_back_and_a_won_dispute_gives_it_back(workspace):
    set_balance(workspace.pk, 0)
    deliver(event("evt_pay", "checkout.session.completed", paid_topup(workspace.pk)))
    opened = event("evt_d1", "charge.dispute.created", dispute())
    assert deliver(opened).json()["outcome"] == "dispute reversed"
    assert deliver(opened).json()["outcome"] == "duplicate"
    assert balance(workspace.pk)[0] == 0
    # a refund on top of a dispute cannot take back more than was credited
    assert deliver(event("evt_r1", "charge.refunded", charge(refunded_cents=2_500))).json()["outcome"] == (
        "already reversed"
    )
    lost = event("evt_d2", "charge.dispute.closed", dispute(status="lost"))
    assert deliver(lost).json()["outcome"] == "dispute lost"
    won = event("evt_d3", "charge.dispute.closed", dispute(status="won"))
    assert deliver(won).json()["outcome"] == "dispute reinstated"
    assert deliver(event("evt_d4", "charge.dispute.closed", dispute(status="won"))).json()["outcome"] == (
        "already reinstated"
    )
    assert balance(workspace.pk)[0] == 250_000 and reversals() == [-250_000, 250_000]
    assert StripePayment.objects.get().disputed_units == 0
    call_command("verify_ledger")


def test_refunds_of_unknown_payments_and_other_workspaces_change_nothing(workspace, other_workspace):
    set_balance(workspace.pk, 0)
    deliver(event("evt_pay", "checkout.session.completed", paid_topup(workspace.pk)))
    stranger = charge(refunded_cents=2_500, intent="pi_someone_else")
    assert deliver(event("evt_r1", "charge.refunded", stranger)).json()["outcome"] == "ignored: not a top-up"
    assert balance(workspace.pk)[0] == 250_000 and reversals() == []


def test_a_refund_of_spent_credit_goes_negative_and_calls_are_402_until_a_top_up(
    client, fake_openai, api_key, catalog
):
    ws = api_key.workspace.pk
    set_prices("gpt-4o-mini", **PRICES)
    set_balance(ws, 0)
    deliver(event("evt_pay", "checkout.session.completed", paid_topup(ws, cents=100)))  # $1
    hi = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model="gpt-4o-mini", messages=hi, max_tokens=50)
    wait_settled()
    spent = 10_000 - balance(ws)[0]
    assert spent > 0
    assert deliver(event("evt_r1", "charge.refunded", charge(refunded_cents=100, cents=100))).json()[
        "outcome"
    ] == ("refund reversed")
    assert balance(ws)[0] == -spent
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=hi, max_tokens=50)
    assert exc.value.status_code == 402 and exc.value.body["code"] == "insufficient_quota"
    assert ledger_mismatches() == []
    call_command("verify_ledger")
    # a new top-up covers what is owed, and calls go through again
    deliver(event("evt_pay2", "checkout.session.completed", paid_topup(ws, session_id="cs_2", intent="pi_2")))
    assert balance(ws)[0] == 250_000 - spent
    assert client.chat.completions.create(model="gpt-4o-mini", messages=hi, max_tokens=50).choices
    wait_settled()
    call_command("verify_ledger")
