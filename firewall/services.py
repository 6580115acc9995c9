"""Writers for the firewall: policies with their rules, and the audit trail.

Every rule is compiled when it is saved, so an invalid or too-complex pattern
is refused with its reason instead of failing on the hot path. Every change
bumps the workspace's firewall version, which the /v1 engine cache watches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from accounts.models import Workspace
from firewall.engine.types import MatcherKind
from firewall.models import AuditEntry, Policy, Rule
from firewall.rules import FirewallError, RuleData, rule_spec
from firewall.runtime import bump_version


@dataclass(frozen=True, slots=True)
class Actor:
    label: str  # "alice@example.com" or "api-key:jk_ab12"
    user: User | None = None


@dataclass(slots=True)
class PolicyChanges:
    name: str | None = None
    description: str | None = None
    enabled: bool | None = None
    order: int | None = None
    rules: list[RuleData] | None = None  # replaces every rule when given


def policy_snapshot(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "description": policy.description,
        "enabled": policy.enabled,
        "order": policy.order,
        "rules": [
            {
                "name": r.name,
                "enabled": r.enabled,
                "order": r.order,
                "matcher": r.matcher,
                "pattern": r.pattern,
                "ignore_case": r.ignore_case,
                "detector": r.detector,
                "scopes": list(r.scopes),
                "action": r.action,
                "label": r.label,
            }
            for r in policy.rules.all()
        ],
    }


def _write_rules(policy: Policy, rules: list[RuleData]) -> None:
    for i, data in enumerate(rules):
        try:
            rule_spec(data)
        except FirewallError as exc:
            raise FirewallError(f"rules[{i}]: {exc}", field=f"rules[{i}].{exc.field}") from None
    Rule.objects.bulk_create(
        [
            Rule(
                policy=policy,
                name=data.name,
                enabled=data.enabled,
                order=data.order,
                matcher=data.matcher,
                pattern=data.pattern if data.matcher != MatcherKind.DETECTOR else "",
                ignore_case=data.ignore_case,
                detector=data.detector if data.matcher == MatcherKind.DETECTOR else "",
                scopes=sorted(set(data.scopes)),
                action=data.action,
                label=data.label,
            )
            for data in rules
        ]
    )


def _audit(*, policy: Policy, actor: Actor, action: str, before: Any, after: Any) -> None:
    user = actor.user if actor.user is not None and getattr(actor.user, "pk", None) else None
    AuditEntry.objects.create(
        workspace_id=policy.workspace_id,
        actor=user,
        actor_label=actor.label[:200],
        action=action,
        policy_id=policy.pk,
        policy_name=policy.name,
        before=before,
        after=after,
    )


def _changed(workspace_id: int) -> None:
    transaction.on_commit(lambda: bump_version(workspace_id))


@transaction.atomic
def policy_create(
    *,
    workspace: Workspace,
    actor: Actor,
    name: str,
    description: str = "",
    enabled: bool = True,
    order: int = 0,
    rules: list[RuleData] | None = None,
) -> Policy:
    if Policy.objects.filter(workspace=workspace, name=name).exists():
        raise FirewallError(f"A policy named '{name}' already exists.", field="name")
    policy = Policy.objects.create(
        workspace=workspace, name=name, description=description, enabled=enabled, order=order
    )
    _write_rules(policy, rules or [])
    _audit(policy=policy, actor=actor, action="policy.create", before=None, after=policy_snapshot(policy))
    _changed(workspace.pk)
    return policy


@transaction.atomic
def policy_update(*, policy: Policy, actor: Actor, changes: PolicyChanges) -> Policy:
    before = policy_snapshot(policy)
    for attr in ("name", "description", "enabled", "order"):
        value = getattr(changes, attr)
        if value is not None:
            setattr(policy, attr, value)
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError:
        raise FirewallError(f"A policy named '{policy.name}' already exists.", field="name") from None
    if changes.rules is not None:
        policy.rules.all().delete()
        _write_rules(policy, changes.rules)
    after = policy_snapshot(policy)
    if after != before:
        _audit(policy=policy, actor=actor, action="policy.update", before=before, after=after)
        _changed(policy.workspace_id)
    return policy


@transaction.atomic
def policy_delete(*, policy: Policy, actor: Actor) -> None:
    _audit(policy=policy, actor=actor, action="policy.delete", before=policy_snapshot(policy), after=None)
    workspace_id = policy.workspace_id
    policy.delete()
    _changed(workspace_id)
