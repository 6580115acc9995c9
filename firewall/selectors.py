"""Readers for the firewall."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from firewall.engine import Blocked, Engine, Session
from firewall.engine.types import Action, RuleSpec, Scope
from firewall.models import AuditEntry, Policy, Rule
from firewall.rules import FirewallError, RuleData, rule_spec

logger = logging.getLogger("junction.firewall")


def policy_list(*, workspace_id: int) -> QuerySet[Policy]:
    return Policy.objects.filter(workspace_id=workspace_id).prefetch_related("rules")


def policy_get(*, workspace_id: int, policy_id: int) -> Policy | None:
    """A policy of this workspace, or None (another workspace's id is simply not found)."""
    return policy_list(workspace_id=workspace_id).filter(pk=policy_id).first()


def audit_list(*, workspace_id: int, limit: int = 200) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(workspace_id=workspace_id)[:limit])


def _spec(rule: Rule) -> RuleSpec:
    data = RuleData(
        name=rule.name,
        matcher=rule.matcher,
        scopes=list(rule.scopes),
        action=rule.action,
        pattern=rule.pattern,
        ignore_case=rule.ignore_case,
        detector=rule.detector,
        label=rule.label,
    )
    return rule_spec(data, rule_id=rule.pk, policy_id=rule.policy_id)


def rule_specs(*, workspace_id: int, policy_id: int | None = None) -> list[RuleSpec]:
    """The enabled rules of the enabled policies, in policy then rule order."""
    rules = Rule.objects.filter(policy__workspace_id=workspace_id, enabled=True).select_related("policy")
    rules = rules.filter(policy__enabled=True) if policy_id is None else rules.filter(policy_id=policy_id)
    ordered = sorted(rules, key=lambda r: (r.policy.order, r.policy_id, r.order, r.pk))
    specs = []
    for rule in ordered:
        try:
            specs.append(_spec(rule))
        except FirewallError:
            # Validated when saved; a rule that no longer compiles (a limit was
            # lowered) is skipped rather than taking the workspace's traffic down.
            logger.warning("firewall rule %s no longer compiles; skipped", rule.pk)
    return specs


def engine_for_workspace(*, workspace_id: int, policy_id: int | None = None) -> Engine:
    return Engine.compile(rule_specs(workspace_id=workspace_id, policy_id=policy_id))


@dataclass(frozen=True, slots=True)
class FirewallTestResult:
    scope: str
    blocked_by: str | None
    hits: list[dict[str, Any]]
    masked_text: str | None  # None when blocked

    @property
    def blocked(self) -> bool:
        return self.blocked_by is not None

    @property
    def decision(self) -> str:
        if self.blocked:
            return "block"
        if self.hits and any(h["action"] == Action.MASK for h in self.hits):
            return "mask"
        return "warn" if self.hits else "pass"


def firewall_test(
    *,
    workspace_id: int,
    text: str,
    scope: Scope,
    policy_id: int | None = None,
    rules: list[RuleData] | None = None,
) -> FirewallTestResult:
    """Run unsaved ``rules``, one policy, or the workspace's enabled policies on
    sample text. No model is called and nothing is stored (the management
    API's dry run and the console's test box)."""
    if rules is not None:
        engine = Engine.compile([rule_spec(r, rule_id=-(i + 1)) for i, r in enumerate(rules)])
    else:
        engine = engine_for_workspace(workspace_id=workspace_id, policy_id=policy_id)
    session = Session(engine)
    blocked_by: str | None = None
    masked: str | None
    try:
        masked = session.process(text, scope)
    except Blocked as exc:
        blocked_by, masked = exc.rule, None
    return FirewallTestResult(scope.value, blocked_by, session.records(), masked)
