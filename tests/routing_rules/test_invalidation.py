"""A rule change reaches every process's routing cache at once (Redis pub/sub),
not only after ROUTING_CACHE_TTL."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings

from routing_rules.invalidation import RULES, invalidation
from routing_rules.selectors import rules_cache
from routing_rules.services import routing_rule_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL"),
]


async def test_another_processes_change_drops_this_processes_copy(workspace, settings):
    settings.ROUTING_CACHE_TTL = 3600  # only the message can make the cache reload
    assert await rules_cache.get(workspace.pk) == ()  # cached; the listener starts on this miss
    await asyncio.sleep(0.3)  # subscribed
    # Another process writes a rule: here, the row plus its published message,
    # without touching this process's cache.
    from routing_rules.models import RoutingRule

    await sync_to_async(RoutingRule.objects.create)(
        workspace=workspace, name="elsewhere", conditions=[], action={"type": "block"}
    )
    assert await rules_cache.get(workspace.pk) == ()  # still the cached copy
    await sync_to_async(invalidation._publish)(RULES, workspace.pk)
    for _ in range(50):
        await asyncio.sleep(0.05)
        rules = await rules_cache.get(workspace.pk)
        if rules:
            break
    assert [r.name for r in rules] == ["elsewhere"]
    invalidation.stop()


def test_a_service_change_is_published_after_commit(workspace, monkeypatch):
    sent = []
    monkeypatch.setattr(invalidation, "_publish", lambda kind, ws: sent.append((kind, ws)))
    routing_rule_create(workspace=workspace, name="r", conditions=[], action={"type": "block"})
    assert sent == [(RULES, workspace.pk)]
