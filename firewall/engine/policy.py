"""A compiled set of rules (``Engine``) and the per-request state that applies
it (``Session``): counts per rule and scope, and the placeholder allocator
that makes masking consistent within one request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from firewall.engine.matchers import Matcher, build_matcher
from firewall.engine.types import Action, Blocked, Hit, RuleSpec, Scope

# Characters scanned per request outside streams; text past the bound is
# passed on unscanned and the request is flagged (``scan_truncated``).
DEFAULT_SCAN_BUDGET = 2_000_000

Found = tuple[int, int, "CompiledRule"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    spec: RuleSpec
    matcher: Matcher
    order: int  # position in the engine; earlier wins a masking overlap

    @property
    def action(self) -> Action:
        return self.spec.action


@dataclass(frozen=True, slots=True)
class Engine:
    rules: tuple[CompiledRule, ...] = ()
    by_scope: dict[Scope, tuple[CompiledRule, ...]] = field(default_factory=dict)

    @classmethod
    def compile(cls, specs: Iterable[RuleSpec]) -> Engine:
        rules = tuple(CompiledRule(spec, build_matcher(spec), i) for i, spec in enumerate(specs))
        by_scope = {scope: tuple(r for r in rules if scope in r.spec.scopes) for scope in Scope}
        return cls(rules=rules, by_scope=by_scope)

    def rules_for(self, scope: Scope) -> tuple[CompiledRule, ...]:
        return self.by_scope.get(scope, ())

    def has(self, scope: Scope) -> bool:
        return bool(self.by_scope.get(scope))

    @property
    def empty(self) -> bool:
        return not self.rules


EMPTY = Engine()


def find_all(rules: Iterable[CompiledRule], text: str) -> list[Found]:
    return [(s, e, rule) for rule in rules for s, e in rule.matcher.find(text)]


def choose_masks(found: Iterable[Found]) -> list[Found]:
    """Non-overlapping spans: leftmost first, then longest, then rule order."""
    chosen: list[Found] = []
    end_of_last = -1
    for s, e, rule in sorted(found, key=lambda f: (f[0], f[0] - f[1], f[2].order)):
        if s >= end_of_last:
            chosen.append((s, e, rule))
            end_of_last = e
    return chosen


class Session:
    """One request's firewall state. Not shared between requests."""

    def __init__(self, engine: Engine, *, scan_budget: int = DEFAULT_SCAN_BUDGET) -> None:
        self.engine = engine
        self.scan_budget = scan_budget
        self.max_text = scan_budget
        self.scan_truncated = False
        self._counts: dict[tuple[int, Scope], int] = {}
        self._placeholders: dict[tuple[str, str], str] = {}
        self._next: dict[str, int] = {}

    # ------------------------------------------------------------ records

    def count(self, rule: CompiledRule, scope: Scope, n: int = 1) -> None:
        key = (rule.order, scope)
        self._counts[key] = self._counts.get(key, 0) + n

    def hits(self) -> list[Hit]:
        out = []
        for (order, scope), n in self._counts.items():
            spec = self.engine.rules[order].spec
            out.append(Hit(spec.id, spec.name, spec.policy_id, scope, spec.action, n))
        return out

    def records(self) -> list[dict[str, object]]:
        return [hit.as_dict() for hit in self.hits()]

    # -------------------------------------------------------------- masks

    def placeholder(self, label: str, value: str) -> str:
        key = (label, value)
        found = self._placeholders.get(key)
        if found is None:
            n = self._next.get(label, 0) + 1
            self._next[label] = n
            found = self._placeholders[key] = f"[{label}_{n}]"
        return found

    def apply_masks(self, text: str, masks: list[Found]) -> str:
        if not masks:
            return text
        out: list[str] = []
        pos = 0
        for s, e, rule in masks:
            out.append(text[pos:s])
            out.append(self.placeholder(rule.matcher.label, text[s:e]))
            pos = e
        out.append(text[pos:])
        return "".join(out)

    # ------------------------------------------------------------ texts

    def process(self, text: str, scope: Scope, *, record: bool = True) -> str:
        """Scan one whole text: count, block (raises ``Blocked``), mask.

        ``record=False`` only masks: for a second copy of text already counted
        (the canonical items beside the raw body)."""
        rules = self.engine.rules_for(scope)
        if not rules or not text:
            return text
        if record:
            if len(text) > self.scan_budget:
                self.scan_truncated = True
            limit = max(self.scan_budget, 0)
            self.scan_budget -= min(len(text), limit)
        else:
            # A second copy of counted text: bounded the same way, not charged twice.
            limit = self.max_text
        scanned, rest = (text, "") if len(text) <= limit else (text[:limit], text[limit:])
        found = find_all(rules if record else [r for r in rules if r.action is Action.MASK], scanned)
        # Overlapping matches resolve left to right (then longest, then rule
        # order) among the rules that act, and separately among warn rules, so
        # a stream, which must decide left to right, gets the same answer.
        chosen = choose_masks(f for f in found if f[2].action is not Action.WARN)
        if record:
            blocked: CompiledRule | None = None
            for _, _, rule in [*chosen, *choose_masks(f for f in found if f[2].action is Action.WARN)]:
                self.count(rule, scope)
                if rule.action is Action.BLOCK and blocked is None:
                    blocked = rule
            if blocked is not None:
                raise Blocked(rule_id=blocked.spec.id, rule=blocked.spec.name, scope=scope)
        masks = [f for f in chosen if f[2].action is Action.MASK]
        return self.apply_masks(scanned, masks) + rest
