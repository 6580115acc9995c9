"""Readers: rules and provider keys, and the per-process caches the hot path uses.

A workspace's compiled rules and decrypted keys are loaded once and trusted
for ``ROUTING_CACHE_TTL`` seconds, so routing a request costs no query.
Services invalidate this process's copy on every change; with Redis the
change is published and every other process drops its copy too
(``routing_rules.invalidation``), else they pick it up within the TTL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import QuerySet

from gateway.singleflight import SingleFlight
from routing_rules import crypto
from routing_rules.invalidation import RULES, invalidation
from routing_rules.models import ProviderKey, RoutingRule
from routing_rules.router import CompiledRule, RuleFormatError, compile_rule

logger = logging.getLogger("junction.routing")
T = TypeVar("T")


def routing_rule_list(*, workspace_id: int) -> QuerySet[RoutingRule]:
    return RoutingRule.objects.filter(workspace_id=workspace_id).order_by("priority", "id")


def provider_key_list(*, workspace_id: int) -> QuerySet[ProviderKey]:
    return ProviderKey.objects.filter(workspace_id=workspace_id).order_by("provider", "position", "id")


def compile_stored_rule(rule: RoutingRule) -> CompiledRule:
    return compile_rule(
        id=rule.pk,
        name=rule.name,
        priority=rule.priority,
        match=rule.match,
        conditions=rule.conditions,
        action=rule.action,
    )


def compiled_rules_load(workspace_id: int) -> tuple[CompiledRule, ...]:
    compiled = []
    for rule in routing_rule_list(workspace_id=workspace_id).filter(enabled=True):
        try:
            compiled.append(compile_stored_rule(rule))
        except RuleFormatError:  # validated on save; only a hand-edited row gets here
            logger.warning("routing rule %s is invalid and is skipped", rule.pk)
    return tuple(compiled)


@dataclass(frozen=True, slots=True)
class StoredKey:
    id: int
    api_key: str
    hint: str

    def __repr__(self) -> str:  # never print the secret
        return f"StoredKey(id={self.id}, hint={self.hint!r})"


def workspace_keys_load(workspace_id: int) -> dict[str, tuple[StoredKey, ...]]:
    keys: dict[str, list[StoredKey]] = {}
    for row in provider_key_list(workspace_id=workspace_id).filter(enabled=True):
        try:
            secret = crypto.decrypt(row.ciphertext)
        except crypto.InvalidToken:
            logger.error("provider key %s cannot be decrypted with the configured keys", row.pk)
            continue
        keys.setdefault(row.provider, []).append(StoredKey(row.pk, secret, row.hint))
    return {slug: tuple(v) for slug, v in keys.items()}


class WorkspaceCache(Generic[T]):
    """Per-process, per-workspace values with a short TTL. Calls that miss
    together share one load (``gateway.singleflight``); a value invalidated
    while it loads is returned to its callers but not kept."""

    def __init__(self, loader: Callable[[int], T]) -> None:
        self._loader = loader
        self._entries: dict[int, tuple[T, float]] = {}
        self._loading: SingleFlight[T] = SingleFlight()

    async def get(self, workspace_id: int) -> T:
        hit = self._entries.get(workspace_id)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        invalidation.ensure_listening()  # on a miss only: other processes' changes reach this one
        return await self._loading.run(workspace_id, partial(self._refresh, workspace_id))

    async def _refresh(self, workspace_id: int) -> T:
        value = await sync_to_async(self._loader)(workspace_id)
        if self._loading.is_current(workspace_id):
            self._entries[workspace_id] = (value, time.monotonic() + settings.ROUTING_CACHE_TTL)
        return value

    def invalidate(self, workspace_id: int) -> None:
        self._entries.pop(workspace_id, None)
        self._loading.forget(workspace_id)

    def clear(self) -> None:
        self._entries.clear()
        self._loading.clear()


rules_cache: WorkspaceCache[tuple[CompiledRule, ...]] = WorkspaceCache(compiled_rules_load)
keys_cache: WorkspaceCache[dict[str, tuple[StoredKey, ...]]] = WorkspaceCache(workspace_keys_load)


def _drop(kind: str, workspace_id: int) -> None:
    (rules_cache if kind == RULES else keys_cache).invalidate(workspace_id)


invalidation.drop = _drop


def routing_caches_clear() -> None:
    rules_cache.clear()
    keys_cache.clear()
