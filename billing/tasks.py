"""Billing's Celery tasks (scheduled in settings.CELERY_BEAT_SCHEDULE). Each is
idempotent: running one twice has the effect of running it once."""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing.models import Granularity
from billing.services.idempotency import idempotency_purge
from billing.services.leases import leases_expire
from billing.services.plans import plans_grant_due
from billing.services.rollups import STEP, period_start, usage_rollup_compute


@shared_task(name="billing.grant_plan_credits")
def grant_plan_credits() -> int:
    """This month's plan credits for every active plan (once per workspace, plan and month)."""
    return plans_grant_due()


@shared_task(name="billing.expire_leases")
def expire_leases() -> int:
    """Hand back credit leased by server processes that stopped renewing it."""
    return leases_expire(older_than=timedelta(seconds=settings.BILLING_LEASE_EXPIRY_SECONDS))


@shared_task(name="billing.rollup_usage")
def rollup_usage(granularity: str, start: str) -> int:
    """Recompute one period (``start`` in ISO 8601)."""
    return usage_rollup_compute(granularity=granularity, start=datetime.fromisoformat(start))


@shared_task(name="billing.rollup_recent_usage")
def rollup_recent_usage() -> int:
    """The current and previous hour and day (late log rows land in the previous one)."""
    now = timezone.now()
    rows = 0
    for granularity in (Granularity.HOUR, Granularity.DAY):
        current = period_start(granularity, now)
        for start in (current - STEP[granularity], current):
            rows += usage_rollup_compute(granularity=granularity, start=start)
    return rows


@shared_task(name="billing.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency_purge()
