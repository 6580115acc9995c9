"""Rule input and its validation: the one place a rule becomes an engine
``RuleSpec`` (used when a rule is saved, tested and loaded)."""

from __future__ import annotations

from dataclasses import dataclass

from firewall.engine import PatternError
from firewall.engine.matchers import build_matcher
from firewall.engine.types import Action, Detector, MatcherKind, RuleSpec, Scope


class FirewallError(Exception):
    """A change the firewall refuses; ``field`` names the offending input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class RuleData:
    name: str
    matcher: str
    scopes: list[str]
    action: str
    pattern: str = ""
    ignore_case: bool = False
    detector: str = ""
    label: str = ""
    enabled: bool = True
    order: int = 0


def rule_spec(data: RuleData, *, rule_id: int = 0, policy_id: int | None = None) -> RuleSpec:
    """Validate rule input into the engine's form (raises ``FirewallError``)."""
    try:
        matcher = MatcherKind(data.matcher)
    except ValueError:
        raise FirewallError(f"Unknown matcher '{data.matcher}'.", field="matcher") from None
    try:
        action = Action(data.action)
    except ValueError:
        raise FirewallError(f"Unknown action '{data.action}'.", field="action") from None
    if not data.scopes:
        raise FirewallError("A rule needs at least one scope.", field="scopes")
    try:
        scopes = frozenset(Scope(s) for s in data.scopes)
    except ValueError:
        raise FirewallError(
            f"Unknown scope in {data.scopes!r}; use {', '.join(s.value for s in Scope)}.", field="scopes"
        ) from None
    detector: Detector | None = None
    if matcher is MatcherKind.DETECTOR:
        try:
            detector = Detector(data.detector)
        except ValueError:
            raise FirewallError(
                f"Unknown detector '{data.detector}'; use one of {', '.join(d.value for d in Detector)}.",
                field="detector",
            ) from None
    elif data.detector:
        raise FirewallError("'detector' is only for matcher 'detector'.", field="detector")
    spec = RuleSpec(
        id=rule_id,
        name=data.name,
        matcher=matcher,
        scopes=scopes,
        action=action,
        pattern=data.pattern if matcher is not MatcherKind.DETECTOR else "",
        ignore_case=data.ignore_case,
        detector=detector,
        label=data.label,
        policy_id=policy_id,
    )
    try:
        build_matcher(spec)
    except PatternError as exc:
        raise FirewallError(str(exc), field="pattern") from None
    return spec
