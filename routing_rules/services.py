"""Writers for routing rules and provider keys (the only ones)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Workspace
from gateway.models import Provider
from routing_rules import crypto
from routing_rules.invalidation import KEYS, RULES, invalidation
from routing_rules.models import ProviderKey, RoutingRule
from routing_rules.router import RuleFormatError, compile_rule
from routing_rules.selectors import keys_cache, rules_cache

PRIORITY_STEP = 10


def rules_changed(workspace_id: int) -> None:
    """This process drops its copy now; every other one when the change commits."""
    rules_cache.invalidate(workspace_id)
    invalidation.changed(RULES, workspace_id)


def keys_changed(workspace_id: int) -> None:
    keys_cache.invalidate(workspace_id)
    invalidation.changed(KEYS, workspace_id)


class RoutingRulesError(Exception):
    """A request to change rules or keys that cannot be honoured; the message says why."""


# What each action type reads; anything else in a written action is refused
# (stored rules are compiled leniently: a rule saved before this check still routes).
ACTION_FIELDS = {
    "route": {"type", "model", "fallbacks"},
    "fallbacks": {"type", "models"},
    "split": {"type", "targets"},
    "block": {"type", "message"},
}
SPLIT_TARGET_FIELDS = {"model", "weight"}


def routing_rule_validate(*, conditions: Any, action: Any, match: str = "all") -> None:
    """Raises ``RuleFormatError`` (a ValueError) naming the bad field."""
    compile_rule(id=0, name="", priority=0, match=match, conditions=conditions, action=action)
    unknown = sorted(set(action) - ACTION_FIELDS[action["type"]])
    if unknown:
        raise RuleFormatError(f"action.{unknown[0]}: unknown field for a {action['type']} action.")
    for i, target in enumerate(action.get("targets") or []):
        extra = sorted(set(target) - SPLIT_TARGET_FIELDS)
        if extra:
            raise RuleFormatError(f"action.targets[{i}].{extra[0]}: unknown field.")


def routing_rule_create(
    *,
    workspace: Workspace,
    name: str,
    conditions: list[Any],
    action: dict[str, Any],
    match: str = "all",
    priority: int | None = None,
    enabled: bool = True,
    description: str = "",
    created_by: Any = None,
) -> RoutingRule:
    routing_rule_validate(conditions=conditions, action=action, match=match)
    if priority is None:
        top = RoutingRule.objects.filter(workspace=workspace).aggregate(m=Max("priority"))["m"]
        priority = (top or 0) + PRIORITY_STEP
    rule = RoutingRule.objects.create(
        workspace=workspace,
        name=name,
        description=description,
        conditions=conditions,
        action=action,
        match=match,
        priority=priority,
        enabled=enabled,
        created_by=created_by,
    )
    rules_changed(workspace.pk)
    return rule


UPDATABLE_RULE_FIELDS = {"name", "description", "conditions", "action", "match", "priority", "enabled"}


def routing_rule_update(*, rule: RoutingRule, **changes: Any) -> RoutingRule:
    unknown = set(changes) - UPDATABLE_RULE_FIELDS
    if unknown:
        raise RoutingRulesError(f"Cannot change {', '.join(sorted(unknown))}.")
    for name, value in changes.items():
        setattr(rule, name, value)
    routing_rule_validate(conditions=rule.conditions, action=rule.action, match=rule.match)
    rule.save()
    rules_changed(rule.workspace_id)
    return rule


def routing_rule_delete(*, rule: RoutingRule) -> None:
    workspace_id = rule.workspace_id
    rule.delete()
    rules_changed(workspace_id)


@transaction.atomic
def routing_rules_reorder(*, workspace: Workspace, rule_ids: list[int]) -> list[RoutingRule]:
    """Give the workspace's rules the order listed (every rule, once)."""
    rules = {r.pk: r for r in RoutingRule.objects.select_for_update().filter(workspace=workspace)}
    if len(rule_ids) != len(set(rule_ids)) or set(rule_ids) != set(rules):
        raise RoutingRulesError("List every rule of the workspace exactly once.")
    for index, rule_id in enumerate(rule_ids, start=1):
        rules[rule_id].priority = index * PRIORITY_STEP
    RoutingRule.objects.bulk_update(rules.values(), ["priority"])
    rules_changed(workspace.pk)
    return [rules[i] for i in rule_ids]


# ----------------------------------------------------------------- provider keys


def provider_key_create(
    *,
    workspace: Workspace,
    provider: str,
    api_key: str,
    label: str = "",
    position: int | None = None,
    created_by: Any = None,
) -> ProviderKey:
    api_key = api_key.strip()
    if not api_key:
        raise RoutingRulesError("The provider key is empty.")
    if not Provider.objects.filter(slug=provider).exists():
        raise RoutingRulesError(f"Unknown provider '{provider}'.")
    if position is None:
        top = ProviderKey.objects.filter(workspace=workspace, provider=provider).aggregate(m=Max("position"))[
            "m"
        ]
        position = 0 if top is None else top + 1
    key = ProviderKey.objects.create(
        workspace=workspace,
        provider=provider,
        label=label,
        position=position,
        ciphertext=crypto.encrypt(api_key),
        hint=crypto.mask(api_key),
        created_by=created_by,
    )
    keys_changed(workspace.pk)
    return key


def provider_key_update(
    *, key: ProviderKey, label: str | None = None, position: int | None = None, enabled: bool | None = None
) -> ProviderKey:
    if label is not None:
        key.label = label
    if position is not None:
        key.position = position
    if enabled is not None:
        key.enabled = enabled
    key.save(update_fields=["label", "position", "enabled"])
    keys_changed(key.workspace_id)
    return key


@transaction.atomic
def provider_key_make_primary(*, key: ProviderKey) -> ProviderKey:
    """Put ``key`` first among its workspace's keys for that provider; the
    others keep their order after it, as fallbacks."""
    keys = list(
        ProviderKey.objects.select_for_update()
        .filter(workspace_id=key.workspace_id, provider=key.provider)
        .order_by("position", "id")
    )
    ordered = [k for k in keys if k.pk == key.pk] + [k for k in keys if k.pk != key.pk]
    for position, row in enumerate(ordered):
        row.position = position
    ProviderKey.objects.bulk_update(ordered, ["position"])
    keys_changed(key.workspace_id)
    key.position = 0
    return key


def provider_key_delete(*, key: ProviderKey) -> None:
    workspace_id = key.workspace_id
    key.delete()
    keys_changed(workspace_id)


def provider_keys_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored key under the current (first) encryption key."""
    count = 0
    now = timezone.now()
    ids = list(ProviderKey.objects.values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            rows = list(
                ProviderKey.objects.select_for_update().filter(pk__in=ids[start : start + batch_size])
            )
            for row in rows:
                row.ciphertext = crypto.reencrypt(row.ciphertext)
                row.rotated_at = now
            ProviderKey.objects.bulk_update(rows, ["ciphertext", "rotated_at"])
            count += len(rows)
    keys_cache.clear()
    return count
