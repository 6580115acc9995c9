"""The hot path: compiled engines are cached per process; a change is seen at once."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from firewall.engine import Scope
from firewall.rules import RuleData
from firewall.runtime import bump_version, engine_for
from firewall.services import Actor, PolicyChanges, policy_create, policy_update

pytestmark = pytest.mark.django_db


def rule(**kw) -> RuleData:
    return RuleData(
        **({"name": "r", "matcher": "substring", "pattern": "x", "scopes": ["prompt"], "action": "mask"} | kw)
    )


def test_engine_is_cached_and_rebuilt_only_after_a_change(
    workspace, settings, django_assert_num_queries, django_capture_on_commit_callbacks
):
    settings.FIREWALL_TTL = 60
    with django_capture_on_commit_callbacks(execute=True):
        policy = policy_create(workspace=workspace, actor=Actor(label="t"), name="p", rules=[rule()])
    get = async_to_sync(engine_for)
    assert get(workspace.pk).has(Scope.PROMPT)
    with django_assert_num_queries(0):
        for _ in range(5):
            assert get(workspace.pk).has(Scope.PROMPT)
    with django_capture_on_commit_callbacks(execute=True):
        policy_update(
            policy=policy, actor=Actor(label="t"), changes=PolicyChanges(rules=[rule(scopes=["response"])])
        )
    engine = get(workspace.pk)
    assert engine.has(Scope.RESPONSE) and not engine.has(Scope.PROMPT)


def test_disabled_rules_and_policies_are_not_compiled(workspace):
    policy_create(workspace=workspace, actor=Actor(label="t"), name="off", enabled=False, rules=[rule()])
    policy_create(workspace=workspace, actor=Actor(label="t"), name="on", rules=[rule(enabled=False)])
    bump_version(workspace.pk)
    assert async_to_sync(engine_for)(workspace.pk).empty
