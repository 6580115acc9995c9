"""The embedded beat: without a broker the ASGI process runs the beat schedule itself."""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from celery.schedules import crontab
from django.utils import timezone

from billing.models import Granularity, UsageRollup
from config.asgi import application
from config.embedded_beat import EmbeddedBeat, interval_seconds
from gateway.models import RequestLog


def wait_for(condition, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


async def run_lifespan_until(condition, *, within: float = 15.0) -> list[str]:
    """Start the app's lifespan, wait until ``condition()`` holds, shut it down."""
    sent: list[str] = []
    started = asyncio.Event()

    async def receive():
        if not started.is_set():
            started.set()
            return {"type": "lifespan.startup"}
        await sync_to_async(wait_for, thread_sensitive=False)(condition, within)
        return {"type": "lifespan.shutdown"}

    async def send(message):
        sent.append(message["type"])

    try:
        await application({"type": "lifespan"}, receive, send)
    finally:
        gc.unfreeze()
    return sent


@pytest.mark.django_db(transaction=True)
def test_a_rollup_appears_without_anyone_calling_the_task(settings, workspace, api_key):
    settings.EMBEDDED_BEAT = True
    settings.EMBEDDED_BEAT_FIRST_DELAY = 0.0
    settings.EMBEDDED_BEAT_MAX_SECONDS = 0.2
    RequestLog.objects.create(
        request_id="req_beat_1",
        created_at=timezone.now(),
        workspace=workspace,
        api_key_id=api_key.pk,
        endpoint="chat.completions",
        model_requested="gpt-4o-mini",
        model_used="gpt-4o-mini",
        provider="openai",
        status_code=200,
        input_tokens=10,
        output_tokens=5,
        latency_ms=100,
        cost_units=10,
        charged_units=10,
    )

    def rolled_up() -> bool:
        return UsageRollup.objects.filter(workspace_id=workspace.pk, granularity=Granularity.DAY).exists()

    sent = async_run(run_lifespan_until(rolled_up))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    day = UsageRollup.objects.get(workspace_id=workspace.pk, granularity=Granularity.DAY)
    assert day.requests == 1 and day.charged_units == 10


@pytest.mark.django_db(transaction=True)
def test_tests_and_production_run_no_embedded_beat(settings, workspace, api_key):
    """Off unless turned on (tests; production, where Celery beat runs the schedule)."""
    assert settings.EMBEDDED_BEAT is False
    RequestLog.objects.create(
        request_id="req_beat_off",
        created_at=timezone.now(),
        workspace=workspace,
        api_key_id=api_key.pk,
        endpoint="chat.completions",
        model_requested="gpt-4o-mini",
        model_used="gpt-4o-mini",
        provider="openai",
        status_code=200,
        latency_ms=100,
    )
    settings.EMBEDDED_BEAT_FIRST_DELAY = 0.0
    async_run(run_lifespan_until(lambda: False, within=0.5))
    assert not UsageRollup.objects.filter(workspace_id=workspace.pk).exists()


def test_every_entry_runs_at_most_the_cap_apart_and_crontabs_are_refused(settings):
    beat = EmbeddedBeat(schedule=settings.CELERY_BEAT_SCHEDULE, max_interval=30.0, first_delay=5.0)
    every = {entry.task: entry.every for entry in beat.entries}
    assert every["billing.expire_leases"] == 30.0 and every["billing.rollup_recent_usage"] == 30.0
    assert interval_seconds("x", timedelta(seconds=5)) == 5.0
    with pytest.raises(ValueError, match="fixed intervals"):
        interval_seconds("nightly", crontab(hour=3))
    with pytest.raises(ValueError, match=r"no\.task"):
        EmbeddedBeat(schedule={"x": {"task": "no.task", "schedule": 1.0}}, max_interval=1.0, first_delay=0.0)


def async_run(coroutine):
    return asyncio.run(coroutine)
