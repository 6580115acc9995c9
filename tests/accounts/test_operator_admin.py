"""Operators in Django admin: credits adjusted with a reason (a ledger entry),
plan changed, a workspace suspended (its keys stop; its members see why),
a request found by its request_id."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from django.test import Client

from accounts.models import Role
from billing.models import CreditAccount, EntryKind, LedgerEntry
from billing.services.plans import plans_ensure_defaults
from gateway.models import RequestLog
from tests.conftest import make_key
from tests.factories import MembershipFactory, UserFactory

CHANGELIST = "/admin/accounts/workspace/"


@pytest.fixture
def operator_web(db) -> Client:
    web = Client()
    web.force_login(UserFactory(username="ops@junction.test", is_staff=True, is_superuser=True))
    return web


def act(web: Client, action: str, workspace, **fields):
    data = {"action": action, "_selected_action": [workspace.pk], **fields}
    return web.post(CHANGELIST, data)


def test_adjust_credits_books_a_ledger_entry_with_who_and_why(operator_web, workspace):
    before = CreditAccount.objects.get(workspace=workspace).balance_units
    form = act(operator_web, "adjust_credits", workspace)
    assert form.status_code == 200 and b"reason" in form.content  # asks first
    refused = act(operator_web, "adjust_credits", workspace, apply="1", units="500", reason="")
    assert refused.status_code == 200 and not LedgerEntry.objects.filter(kind=EntryKind.ADJUSTMENT).exists()
    done = act(operator_web, "adjust_credits", workspace, apply="1", units="-500", reason="Duplicate top-up")
    assert done.status_code == 302
    entry = LedgerEntry.objects.get(kind=EntryKind.ADJUSTMENT)
    assert (entry.amount_units, entry.reason, entry.created_by.username) == (
        -500,
        "Duplicate top-up",
        "ops@junction.test",
    )
    assert CreditAccount.objects.get(workspace=workspace).balance_units == before - 500


def test_change_plan(operator_web, workspace):
    plans_ensure_defaults()
    assert act(operator_web, "change_plan", workspace, apply="1", plan="pro").status_code == 302
    assert CreditAccount.objects.select_related("plan").get(workspace=workspace).plan.slug == "pro"


def test_suspended_workspace_keys_stop_and_members_see_why(operator_web, workspace, junction, admin_key):
    key = make_key(workspace)
    url = f"{junction.url}/v1/credits"
    auth = {"authorization": f"Bearer {key.secret}"}
    assert httpx.get(url, headers=auth).status_code == 200  # now cached in the server's key table
    assert (
        act(operator_web, "suspend", workspace, apply="1", reason="Unpaid invoice 2026-11").status_code == 302
    )
    workspace.refresh_from_db()
    assert workspace.suspended and workspace.suspended_reason == "Unpaid invoice 2026-11"
    refused = httpx.get(url, headers=auth)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "workspace_suspended"
    # The management API refuses the workspace's admin key too.
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_key.secret}")
    assert api.get("/api/manage/keys/").status_code == 403
    # A member still signs in and is told why.
    member = UserFactory()
    MembershipFactory(workspace=workspace, user=member, role=Role.MEMBER)
    web = Client()
    web.force_login(member)
    page = web.get("/console/")
    assert page.status_code == 200 and b"Unpaid invoice 2026-11" in page.content
    assert act(operator_web, "unsuspend", workspace).status_code == 302
    assert httpx.get(url, headers=auth).status_code == 200


def test_find_a_request_by_request_id(operator_web, workspace, other_workspace):
    for ws, rid in ((workspace, "req_findme123"), (other_workspace, "req_other456")):
        RequestLog.objects.create(
            request_id=rid,
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
            workspace=ws,
            endpoint="chat",
            status_code=200,
        )
    found = operator_web.get("/admin/gateway/requestlog/", {"q": "req_findme123"})
    assert (
        found.status_code == 200
        and b"req_findme123" in found.content
        and b"req_other456" not in found.content
    )
