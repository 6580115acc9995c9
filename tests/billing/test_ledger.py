"""Each ledger entry type; the balance is always the sum of the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import Workspace
from billing.book.credit_book import CreditBook
from billing.book.state import SpendCap
from billing.errors import BillingError, BillingErrorCode
from billing.models import AppendOnlyError, CreditAccount, CreditLease, EntryKind, KeySpend, LedgerEntry
from billing.selectors import ledger_mismatches
from billing.services import (
    credits_adjust,
    credits_grant,
    credits_refund,
    credits_topup,
)
from tests.billing.conftest import balance, charge_call
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ledger_sum(ws_id: int) -> int:
    return LedgerEntry.objects.filter(workspace_id=ws_id).aggregate(s=Sum("amount_units"))["s"] or 0


def test_every_entry_kind_moves_the_balance_once(workspace):
    ws = workspace.pk
    start = balance(ws)[0]
    operator = UserFactory()
    assert credits_grant(workspace_id=ws, units=5_000, reason="welcome", idempotency_key="welcome:1")
    assert credits_grant(workspace_id=ws, units=5_000, reason="welcome", idempotency_key="welcome:1") is None
    assert credits_topup(workspace_id=ws, units=100_000, stripe_object_id="cs_test_1")
    assert credits_topup(workspace_id=ws, units=100_000, stripe_object_id="cs_test_1") is None
    assert balance(ws) == (start + 105_000, 0)
    charge_call(ws, "req_a", hold=700, charge=250)
    assert credits_refund(
        workspace_id=ws, request_id="req_a", units=250, reason="bad answer", created_by=operator
    )
    assert credits_refund(workspace_id=ws, request_id="req_a", units=250, reason="again") is None
    adj = credits_adjust(workspace_id=ws, units=-1_000, reason="goodwill reversal", created_by=operator)
    assert adj.created_by == operator and adj.reason == "goodwill reversal"

    kinds = list(
        LedgerEntry.objects.filter(workspace_id=ws).values_list("kind", "amount_units").order_by("id")
    )
    assert kinds[1:] == [
        (EntryKind.GRANT, 5_000),
        (EntryKind.TOPUP, 100_000),
        (EntryKind.CHARGE, -250),
        (EntryKind.REFUND, 250),
        (EntryKind.ADJUSTMENT, -1_000),
    ]
    charge = LedgerEntry.objects.get(kind=EntryKind.CHARGE)
    assert charge.request_id == "req_a" and charge.idempotency_key == "charge:req_a"
    assert LedgerEntry.objects.get(kind=EntryKind.TOPUP).stripe_object_id == "cs_test_1"
    assert balance(ws) == (start + 104_000, 0) and balance(ws)[0] == ledger_sum(ws)
    assert ledger_mismatches() == []


def test_ledger_is_append_only(workspace):
    entry = LedgerEntry.objects.filter(workspace=workspace).first()
    entry.amount_units = 10**9
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_adjustments_need_who_and_why_and_cannot_overdraw(workspace, settings):
    ws = workspace.pk
    with pytest.raises(BillingError):
        credits_adjust(workspace_id=ws, units=10, reason="", created_by=UserFactory())
    with pytest.raises(BillingError):
        credits_adjust(workspace_id=ws, units=10, reason="why", created_by=None)
    total = balance(ws)[0]
    held = CreditBook(background=False)  # a server process holding 100 for a call in flight
    settings.BILLING_LEASE_CALLS = 0
    held.hold_blocking(request_id="req_hold", workspace_id=ws, api_key_id=None, amount=100)
    with pytest.raises(BillingError) as exc:
        credits_adjust(workspace_id=ws, units=-(total - 50), reason="too much", created_by=UserFactory())
    assert exc.value.code is BillingErrorCode.WOULD_OVERDRAW
    assert balance(ws) == (total, 100) and balance(ws)[0] == ledger_sum(ws)


def test_refund_is_bounded_by_the_charge(workspace):
    with pytest.raises(BillingError):
        credits_refund(workspace_id=workspace.pk, request_id="req_none", units=1, reason="x")
    charge_call(workspace.pk, "req_r", hold=10, charge=10)
    with pytest.raises(BillingError):
        credits_refund(workspace_id=workspace.pk, request_id="req_r", units=11, reason="x")


def test_verify_ledger_detects_a_tampered_balance(workspace, capsys):
    call_command("verify_ledger")
    assert "Every balance equals" in capsys.readouterr().out
    CreditAccount.objects.filter(workspace=workspace).update(balance_units=10**9)  # tampering
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    err = capsys.readouterr().err
    assert f"workspace {workspace.pk}" in err and "ledger sums to" in err


def test_verify_ledger_checks_reserved_against_the_leases(workspace, api_key, capsys):
    book = CreditBook(background=False)
    book.hold_blocking(request_id="req_v", workspace_id=workspace.pk, api_key_id=None, amount=100)
    cap = SpendCap(10_000, "day")
    book.hold_blocking(
        request_id="req_k", workspace_id=workspace.pk, api_key_id=api_key.pk, amount=10, cap=cap
    )
    call_command("verify_ledger")  # leases held: reserved agrees with them
    CreditAccount.objects.filter(workspace=workspace).update(reserved_units=F("reserved_units") + 1)
    KeySpend.objects.update(reserved_units=F("reserved_units") + 2)
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    err = capsys.readouterr().err
    assert f"workspace {workspace.pk} credit account: reserved" in err
    assert f"workspace {workspace.pk} key {api_key.pk} day:" in err


def test_verify_ledger_reports_stale_leases(workspace, capsys):
    book = CreditBook(background=False)
    book.hold_blocking(request_id="req_s", workspace_id=workspace.pk, api_key_id=None, amount=100)
    call_command("verify_ledger")  # renewed just now
    CreditLease.objects.update(renewed_at=timezone.now() - timedelta(hours=1))  # its process died
    with pytest.raises(CommandError) as exc:
        call_command("verify_ledger")
    assert "1 stale lease(s)" in str(exc.value)
    assert f"workspace {workspace.pk}: lease" in capsys.readouterr().err


def test_create_workspace_with_credits(db, capsys):
    call_command("create_workspace", "funded", "--owner", "o@funded.test", "--credits", "500")
    ws = Workspace.objects.get(slug="funded")
    assert balance(ws.pk) == (50_000, 0)  # 500 credits = $5 = 50,000 units
    entry = LedgerEntry.objects.get(workspace=ws)
    assert entry.kind == EntryKind.GRANT and entry.amount_units == 50_000
    assert "500 credits ($5.00)" in capsys.readouterr().out
    call_command("verify_ledger")


def test_bootstrap_demo_is_funded(db, capsys):
    call_command("bootstrap_demo")
    ws = Workspace.objects.get(slug="demo")
    assert balance(ws.pk) == (100_000, 0)  # 1,000 credits = $10
    call_command("bootstrap_demo")  # a second run changes nothing
    assert balance(ws.pk) == (100_000, 0)
