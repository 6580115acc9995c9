"""Routing rules as data: validation/compilation of the stored JSON, and
evaluation against a request's features (pure; regexes are RE2, linear time).

The JSON format is documented in ``docs/routing.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import re2

from routing_rules.router.features import RequestFeatures

MAX_PATTERN_LENGTH = 2_000
MAX_CONDITIONS = 20
MAX_TARGETS = 10


class RuleFormatError(ValueError):
    """A rule's conditions or action are not valid; the message says which field."""


class ConditionType(StrEnum):
    TEXT_CONTAINS = "text_contains"
    TEXT_REGEX = "text_regex"
    METADATA_EQUALS = "metadata_equals"
    MODE_EQUALS = "mode_equals"
    MODEL_EQUALS = "model_equals"
    MODEL_REGEX = "model_regex"
    API_KEY_IN = "api_key_in"
    INPUT_TOKENS_ABOVE = "input_tokens_above"
    HAS_TOOLS = "has_tools"
    HAS_IMAGES = "has_images"
    HAS_FILES = "has_files"


class ActionType(StrEnum):
    ROUTE = "route"
    FALLBACKS = "fallbacks"
    SPLIT = "split"
    BLOCK = "block"


class MatchMode(StrEnum):
    ALL = "all"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Condition:
    type: ConditionType
    value: Any = None
    key: str | None = None
    regex: Any = None  # a compiled re2 pattern
    case_sensitive: bool = False
    negate: bool = False
    index: int = 0  # position in the rule as written

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "type": str(self.type)}
        if self.key is not None:
            out["key"] = self.key
        if self.negate:
            out["negate"] = True
        return out


@dataclass(frozen=True, slots=True)
class Action:
    type: ActionType
    model: str | None = None  # route
    fallbacks: tuple[str, ...] = ()  # route (optional) and fallbacks
    targets: tuple[tuple[str, int], ...] = ()  # split: (model, weight)
    message: str | None = None  # block

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": str(self.type)}
        if self.model:
            out["model"] = self.model
        if self.fallbacks:
            out["fallbacks"] = list(self.fallbacks)
        if self.targets:
            out["targets"] = [{"model": m, "weight": w} for m, w in self.targets]
        if self.message is not None:
            out["message"] = self.message
        return out


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: int
    name: str
    priority: int
    match: MatchMode
    conditions: tuple[Condition, ...]
    action: Action


# ----------------------------------------------------------------- compile


def _string(spec: Mapping[str, Any], field: str, where: str, *, max_length: int = 500) -> str:
    value = spec.get(field)
    if not isinstance(value, str) or not value:
        raise RuleFormatError(f"{where}.{field}: expected a non-empty string.")
    if len(value) > max_length:
        raise RuleFormatError(f"{where}.{field}: at most {max_length} characters.")
    return value


def _regex(pattern: str, where: str, *, case_sensitive: bool) -> Any:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RuleFormatError(f"{where}.pattern: at most {MAX_PATTERN_LENGTH} characters.")
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RuleFormatError(f"{where}.pattern: not a valid RE2 regular expression ({detail}).") from None


def compile_condition(spec: Any, where: str) -> Condition:
    if not isinstance(spec, dict):
        raise RuleFormatError(f"{where}: expected an object.")
    try:
        kind = ConditionType(spec.get("type", ""))
    except ValueError:
        allowed = ", ".join(t.value for t in ConditionType)
        raise RuleFormatError(f"{where}.type: expected one of {allowed}.") from None
    # Substring tests ignore case unless told; regexes follow RE2 (use ``(?i)``).
    is_regex = kind in (ConditionType.TEXT_REGEX, ConditionType.MODEL_REGEX)
    case_sensitive = spec.get("case_sensitive", is_regex)
    if not isinstance(case_sensitive, bool):
        raise RuleFormatError(f"{where}.case_sensitive: expected a boolean.")
    negate = spec.get("negate", False)
    if not isinstance(negate, bool):
        raise RuleFormatError(f"{where}.negate: expected a boolean.")
    base = Condition(kind, case_sensitive=case_sensitive, negate=negate)
    if kind is ConditionType.TEXT_CONTAINS:
        value = _string(spec, "value", where, max_length=MAX_PATTERN_LENGTH)
        return replace(base, value=value if case_sensitive else value.casefold())
    if kind in (ConditionType.TEXT_REGEX, ConditionType.MODEL_REGEX):
        pattern = _string(spec, "pattern", where, max_length=MAX_PATTERN_LENGTH)
        return replace(base, value=pattern, regex=_regex(pattern, where, case_sensitive=case_sensitive))
    if kind is ConditionType.METADATA_EQUALS:
        return replace(
            base, key=_string(spec, "key", where, max_length=64), value=_string(spec, "value", where)
        )
    if kind in (ConditionType.MODE_EQUALS, ConditionType.MODEL_EQUALS):
        return replace(base, value=_string(spec, "value", where, max_length=200))
    if kind is ConditionType.API_KEY_IN:
        values = spec.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise RuleFormatError(f"{where}.values: expected a non-empty list of API key prefixes.")
        return replace(base, value=frozenset(values))
    if kind is ConditionType.INPUT_TOKENS_ABOVE:
        threshold = spec.get("value")
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
            raise RuleFormatError(f"{where}.value: expected a non-negative integer.")
        return replace(base, value=threshold)
    return base  # has_tools / has_images / has_files


def _targets(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise RuleFormatError(f"{where}: expected a non-empty list of model names.")
    if len(value) > MAX_TARGETS:
        raise RuleFormatError(f"{where}: at most {MAX_TARGETS} models.")
    return tuple(value)


def compile_action(spec: Any) -> Action:
    where = "action"
    if not isinstance(spec, dict):
        raise RuleFormatError(f"{where}: expected an object.")
    try:
        kind = ActionType(spec.get("type", ""))
    except ValueError:
        allowed = ", ".join(t.value for t in ActionType)
        raise RuleFormatError(f"{where}.type: expected one of {allowed}.") from None
    if kind is ActionType.ROUTE:
        fallbacks = _targets(spec["fallbacks"], f"{where}.fallbacks") if spec.get("fallbacks") else ()
        return Action(kind, model=_string(spec, "model", where, max_length=200), fallbacks=fallbacks)
    if kind is ActionType.FALLBACKS:
        return Action(kind, fallbacks=_targets(spec.get("models"), f"{where}.models"))
    if kind is ActionType.SPLIT:
        raw = spec.get("targets")
        if not isinstance(raw, list) or not raw or len(raw) > MAX_TARGETS:
            raise RuleFormatError(f"{where}.targets: expected 1 to {MAX_TARGETS} {{model, weight}} objects.")
        targets: list[tuple[str, int]] = []
        for i, t in enumerate(raw):
            if not isinstance(t, dict):
                raise RuleFormatError(f"{where}.targets[{i}]: expected an object.")
            weight = t.get("weight")
            if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
                raise RuleFormatError(f"{where}.targets[{i}].weight: expected a non-negative integer.")
            targets.append((_string(t, "model", f"{where}.targets[{i}]", max_length=200), weight))
        if sum(w for _, w in targets) <= 0:
            raise RuleFormatError(f"{where}.targets: the weights must add up to more than 0.")
        return Action(kind, targets=tuple(targets))
    message = spec.get("message", "This request was blocked by a routing rule.")
    if not isinstance(message, str) or not message or len(message) > 500:
        raise RuleFormatError(f"{where}.message: expected a string of 1 to 500 characters.")
    return Action(kind, message=message)


def compile_rule(
    *, id: int, name: str, priority: int, match: str, conditions: Any, action: Any
) -> CompiledRule:
    """Validate a stored rule and build its evaluable form. Raises RuleFormatError."""
    if not isinstance(conditions, list):
        raise RuleFormatError("conditions: expected a list.")
    if len(conditions) > MAX_CONDITIONS:
        raise RuleFormatError(f"conditions: at most {MAX_CONDITIONS}.")
    try:
        match_mode = MatchMode(match)
    except ValueError:
        raise RuleFormatError("match: expected 'all' or 'any'.") from None
    compiled = [replace(compile_condition(c, f"conditions[{i}]"), index=i) for i, c in enumerate(conditions)]
    # Cheap tests run first, scans of the prompt last: a rule that fails on its
    # metadata never reads the text. (Stable: ties keep the written order.)
    compiled.sort(key=lambda c: CONDITION_COST[c.type])
    return CompiledRule(id, name, priority, match_mode, tuple(compiled), compile_action(action))


CONDITION_COST = {
    **{t: 0 for t in ConditionType},
    ConditionType.MODEL_REGEX: 1,
    ConditionType.TEXT_CONTAINS: 2,
    ConditionType.TEXT_REGEX: 3,
}


# ---------------------------------------------------------------- evaluate


@dataclass(slots=True)
class _Texts:
    """The prompt in the forms conditions need, each built at most once per request."""

    features: RequestFeatures
    _folded: str | None = field(default=None)

    def folded(self) -> str:
        if self._folded is None:
            self._folded = self.features.text.casefold()
        return self._folded


def condition_holds(cond: Condition, features: RequestFeatures, texts: _Texts | None = None) -> bool:
    kind = cond.type
    if kind is ConditionType.TEXT_CONTAINS:
        text = features.text if cond.case_sensitive else (texts or _Texts(features)).folded()
        result = cond.value in text
    elif kind is ConditionType.TEXT_REGEX:
        result = cond.regex.search(features.text) is not None
    elif kind is ConditionType.METADATA_EQUALS:
        result = features.metadata.get(cond.key or "") == cond.value
    elif kind is ConditionType.MODE_EQUALS:
        result = request_mode(features) == normalize_mode(cond.value)
    elif kind is ConditionType.MODEL_EQUALS:
        result = features.model == cond.value
    elif kind is ConditionType.MODEL_REGEX:
        result = cond.regex.search(features.model) is not None
    elif kind is ConditionType.API_KEY_IN:
        result = features.api_key_prefix is not None and features.api_key_prefix in cond.value
    elif kind is ConditionType.INPUT_TOKENS_ABOVE:
        result = features.input_tokens > cond.value
    elif kind is ConditionType.HAS_TOOLS:
        result = features.has_tools
    elif kind is ConditionType.HAS_IMAGES:
        result = features.has_images
    else:
        result = features.has_files
    return result != cond.negate


def normalize_mode(value: str | None) -> str | None:
    """``auto:latency`` / ``latency`` / ``fast`` -> ``latency``; not a mode -> None."""
    if not value:
        return None
    name = value.removeprefix("auto:") if value.startswith("auto:") else value
    if value == "auto":
        name = "balance"
    name = MODE_ALIASES.get(name, name)
    return name if name in MODES else None


def request_mode(features: RequestFeatures) -> str | None:
    """The mode a request asked for: ``auto:<mode>`` in the model wins over ``router_mode``."""
    if features.model.startswith("auto:"):
        return normalize_mode(features.model)
    if features.mode:
        return normalize_mode(features.mode)
    return "balance" if features.model == "auto" else None


MODES = ("latency", "balance", "cost", "quality")
# ``fast`` was the first name of ``latency``; both are accepted, ``latency`` is reported.
MODE_ALIASES = {"fast": "latency", "balanced": "balance", "cheap": "cost"}


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What the rules decided: at most one terminal action, and a fallback chain."""

    trace: list[dict[str, Any]]
    terminal: CompiledRule | None = None
    fallbacks: tuple[str, ...] = ()
    fallbacks_rule: CompiledRule | None = None


def evaluate_rule(
    rule: CompiledRule, features: RequestFeatures, texts: _Texts | None = None
) -> tuple[bool, dict[str, Any] | None]:
    """(matched, the condition that decided). With ``all`` a failing condition
    decides a miss; with ``any`` a holding one decides a match. Conditions are
    tried cheapest first, so the one reported is the first to decide in that
    order; its ``index`` is its position as written."""
    if not rule.conditions:
        return True, None
    texts = texts or _Texts(features)
    want_all = rule.match is MatchMode.ALL
    for cond in rule.conditions:
        holds = condition_holds(cond, features, texts)
        if want_all and not holds:
            return False, cond.describe()
        if not want_all and holds:
            return True, cond.describe()
    return want_all, rule.conditions[-1].describe()


def evaluate_rules(rules: Sequence[CompiledRule], features: RequestFeatures) -> RuleOutcome:
    """Rules run in priority order. ``route``, ``split`` and ``block`` end the
    evaluation; the first matching ``fallbacks`` rule sets the chain and
    evaluation continues."""
    trace: list[dict[str, Any]] = []
    fallbacks: tuple[str, ...] = ()
    fallbacks_rule: CompiledRule | None = None
    texts = _Texts(features)
    for rule in rules:
        matched, decided_by = evaluate_rule(rule, features, texts)
        entry: dict[str, Any] = {
            "rule_id": rule.id,
            "name": rule.name,
            "priority": rule.priority,
            "matched": matched,
            "decided_by": decided_by,
            "action": None,
        }
        trace.append(entry)
        if not matched:
            continue
        if rule.action.type is ActionType.FALLBACKS:
            if fallbacks_rule is None:
                fallbacks, fallbacks_rule = rule.action.fallbacks, rule
                entry["action"] = rule.action.describe()
            else:
                entry["action"] = {"type": "fallbacks", "ignored": "an earlier rule already set the chain"}
            continue
        entry["action"] = rule.action.describe()
        return RuleOutcome(trace, terminal=rule, fallbacks=fallbacks, fallbacks_rule=fallbacks_rule)
    return RuleOutcome(trace, fallbacks=fallbacks, fallbacks_rule=fallbacks_rule)


def pick_split(targets: Sequence[tuple[str, int]], roll: float) -> list[str]:
    """The weighted pick first (``roll`` in [0, 1)), then the rest by weight as fallbacks."""
    total = sum(w for _, w in targets)
    point = roll * total
    chosen = next((m for m, w in targets if w > 0), targets[0][0])
    upto = 0.0
    for model, weight in targets:
        upto += weight
        if weight > 0 and point < upto:
            chosen = model
            break
    rest = [m for m, _ in sorted(targets, key=lambda t: -t[1]) if m != chosen]
    return [chosen, *rest]
