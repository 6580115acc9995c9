"""Beat tasks: plan grants, usage rollups, and the admin adjustment form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client

from billing import tasks
from billing.models import CreditAccount, EntryKind, Granularity, LedgerEntry, Plan, PlanStatus, UsageRollup
from billing.services.plans import plans_grant_due
from billing.services.rollups import percentile, usage_rollup_compute
from gateway.models import RequestLog
from tests.billing.conftest import balance
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_beat_schedule_registers_the_tasks():
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "billing.grant_plan_credits",
        "billing.rollup_recent_usage",
        "billing.expire_leases",
    } <= names
    from config.celery import app

    app.loader.import_default_modules()
    assert "billing.grant_plan_credits" in app.tasks


def test_plan_grant_runs_once_per_period(workspace):
    starter = Plan.objects.get(slug="starter")
    paused = MembershipFactory().workspace
    CreditAccount.objects.create(workspace=paused, plan=starter, plan_status=PlanStatus.PAST_DUE)
    CreditAccount.objects.filter(workspace=workspace).update(plan=starter)
    before = balance(workspace.pk)[0]
    assert tasks.grant_plan_credits.apply().get() == 1
    assert tasks.grant_plan_credits.apply().get() == 0  # twice -> once
    assert balance(workspace.pk)[0] == before + 50_000  # Starter: 500 credits
    assert balance(paused.pk)[0] == 0  # a past-due plan grants nothing
    later = datetime.now(UTC) + timedelta(days=40)
    assert plans_grant_due(now=later) == 1
    assert balance(workspace.pk)[0] == before + 100_000
    keys = set(LedgerEntry.objects.filter(kind=EntryKind.GRANT).values_list("idempotency_key", flat=True))
    assert f"grant:{workspace.pk}:starter:{later:%Y-%m}" in keys


def log(ws, key_id, *, at, model="gpt-4o-mini", status=200, latency=100, charged=10, tokens=(10, 5)):
    RequestLog.objects.create(
        request_id=f"req_{RequestLog.objects.count()}_{at.timestamp()}",
        created_at=at,
        workspace=ws,
        api_key_id=key_id,
        endpoint="chat.completions",
        model_requested=model,
        model_used=model,
        provider="openai",
        status_code=status,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        latency_ms=latency,
        cost_units=charged,
        charged_units=charged,
    )


def test_rollups_are_recomputed_to_the_same_rows(workspace, api_key):
    hour = datetime(2026, 11, 20, 14, tzinfo=UTC)
    for i in range(20):
        log(workspace, api_key.pk, at=hour + timedelta(minutes=i), latency=(i + 1) * 10)
    log(workspace, api_key.pk, at=hour + timedelta(minutes=30), status=502, charged=0, tokens=(0, 0))
    log(workspace, api_key.pk, at=hour + timedelta(minutes=31), model="gpt-4o")
    log(workspace, api_key.pk, at=hour + timedelta(hours=2), model="gpt-4o")  # another hour, same day

    assert usage_rollup_compute(granularity=Granularity.HOUR, start=hour + timedelta(minutes=5)) == 2
    mini = UsageRollup.objects.get(granularity="hour", period_start=hour, model="gpt-4o-mini")
    assert (mini.requests, mini.errors, mini.input_tokens, mini.output_tokens) == (21, 1, 200, 100)
    assert (mini.cost_units, mini.charged_units, mini.api_key_id, mini.provider) == (
        200,
        200,
        api_key.pk,
        "openai",
    )
    assert (mini.latency_p50_ms, mini.latency_p95_ms, mini.latency_p99_ms) == (100, 190, 200)

    def snapshot():
        return sorted(UsageRollup.objects.values_list(
            "granularity", "period_start", "workspace_id", "api_key_id", "model", "provider", "requests",
            "errors", "input_tokens", "output_tokens", "charged_units", "latency_p50_ms", "latency_p95_ms",
        ))  # fmt: skip

    first = snapshot()
    tasks.rollup_usage.apply(args=["hour", hour.isoformat()]).get()
    assert snapshot() == first  # recomputing gives the same rows

    assert tasks.rollup_usage.apply(args=["day", hour.isoformat()]).get() == 2
    day = UsageRollup.objects.get(granularity="day", model="gpt-4o")
    assert day.requests == 2 and day.period_start == hour.replace(hour=0)

    # A late log row lands in the hour; recomputing picks it up and replaces the row.
    log(workspace, api_key.pk, at=hour + timedelta(minutes=59), model="gpt-4o")
    usage_rollup_compute(granularity="hour", start=hour)
    assert UsageRollup.objects.get(granularity="hour", period_start=hour, model="gpt-4o").requests == 2
    assert UsageRollup.objects.filter(granularity="hour", period_start=hour).count() == 2


def test_percentile_nearest_rank():
    assert percentile([], 50) == 0
    assert percentile([5], 99) == 5
    assert percentile(list(range(1, 101)), 95) == 95


def test_admin_adjustment_records_who_and_why(workspace):
    operator = UserFactory(username="ops@junction.test", is_staff=True, is_superuser=True)
    web = Client()
    web.force_login(operator)
    before = balance(workspace.pk)[0]
    resp = web.post(
        "/admin/billing/ledgerentry/add/",
        {"workspace": workspace.pk, "amount_units": 12_345, "reason": "Outage credit, ticket 42"},
    )
    assert resp.status_code == 302, resp.content[:500]
    entry = LedgerEntry.objects.get(kind=EntryKind.ADJUSTMENT)
    assert (entry.amount_units, entry.created_by, entry.reason) == (
        12_345,
        operator,
        "Outage credit, ticket 42",
    )
    assert balance(workspace.pk)[0] == before + 12_345
    refused = web.post(
        "/admin/billing/ledgerentry/add/", {"workspace": workspace.pk, "amount_units": 5, "reason": ""}
    )
    assert refused.status_code == 200 and LedgerEntry.objects.filter(kind=EntryKind.ADJUSTMENT).count() == 1
    # Entries can be read but not changed or deleted.
    assert web.get(f"/admin/billing/ledgerentry/{entry.pk}/change/").status_code == 200
    assert web.post(f"/admin/billing/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
