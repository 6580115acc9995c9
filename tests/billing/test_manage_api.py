"""/api/manage/billing/* and /usage: one balance shape, the ledger by cursor, usage from rollups."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.models import Granularity, UsageRollup
from billing.selectors import workspace_balance
from billing.services import credits_grant
from tests.conftest import make_key


def test_manage_credits_has_the_same_balance_shape_as_v1_credits(manage_client, workspace):
    body = manage_client.get("/api/manage/billing/credits").json()
    expected = workspace_balance(workspace_id=workspace.pk).wire()
    assert {k: body[k] for k in expected} == expected
    # Numbers, not strings: the same types /v1/credits returns.
    assert isinstance(body["balance"], float) and isinstance(body["balance_units"], int)
    assert body["object"] == "credits" and body["workspace"] == workspace.slug
    assert "balance_usd" not in body


def test_ledger_pages_by_cursor(manage_client, workspace):
    for n in range(4):
        credits_grant(workspace_id=workspace.pk, units=n + 1, reason=f"grant {n}")
    first = manage_client.get("/api/manage/billing/ledger", {"limit": 3}).json()
    assert [e["reason"] for e in first["data"]] == ["grant 3", "grant 2", "grant 1"]
    assert first["has_more"] is True
    second = manage_client.get(
        "/api/manage/billing/ledger/", {"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [e["reason"] for e in second["data"]] == ["grant 0", "test funds"]
    assert second["has_more"] is False and second["next_cursor"] is None


def test_ledger_of_another_workspace_is_not_shown(manage_client, workspace, other_workspace):
    credits_grant(workspace_id=other_workspace.pk, units=5, reason="SENTINEL-OTHER")
    resp = manage_client.get("/api/manage/billing/ledger")
    assert b"SENTINEL-OTHER" not in resp.content


def rollup(workspace_id: int, day: int, **fields) -> UsageRollup:
    values = {
        "granularity": Granularity.DAY,
        "period_start": datetime(2026, 11, day, tzinfo=UTC),
        "workspace_id": workspace_id,
        "model": "gpt-4o-mini",
        "provider": "openai",
        "requests": 10,
        "errors": 1,
        "charged_units": 100,
        "cost_units": 90,
        "latency_p50_ms": 100,
        "latency_p95_ms": 300,
    }
    values.update(fields)
    return UsageRollup.objects.create(**values)


def test_usage_by_day_model_and_key(manage_client, workspace, other_workspace):
    key = make_key(workspace)
    rollup(workspace.pk, 1, api_key_id=key.pk)
    rollup(workspace.pk, 1, model="claude-haiku-4-5", provider="anthropic", requests=30, latency_p50_ms=200)
    rollup(workspace.pk, 2, charged_units=50)
    rollup(workspace.pk, 2, granularity=Granularity.HOUR, charged_units=999_999)  # hours are not summed again
    rollup(other_workspace.pk, 1, charged_units=777_777)
    params = {"since": "2026-11-01", "until": "2026-11-03"}
    by_day = manage_client.get("/api/manage/usage", {**params, "group_by": "day"}).json()["data"]
    assert [(r["group"], r["requests"], r["charged_units"]) for r in by_day] == [
        ("2026-11-01", 40, 200),
        ("2026-11-02", 10, 50),
    ]
    # Request-weighted percentiles: (10 * 100 + 30 * 200) / 40.
    assert by_day[0]["latency_p50_ms"] == 175
    by_model = manage_client.get("/api/manage/usage/", {**params, "group_by": "model"}).json()["data"]
    assert {r["group"]: r["charged_units"] for r in by_model} == {"gpt-4o-mini": 150, "claude-haiku-4-5": 100}
    by_key = manage_client.get("/api/manage/usage", {**params, "group_by": "key"}).json()["data"]
    assert {r["group"] for r in by_key} == {key.prefix, "(no key)"}
    bad = manage_client.get("/api/manage/usage", {"group_by": "color"})
    assert bad.status_code == 400
