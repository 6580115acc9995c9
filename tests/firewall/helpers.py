from __future__ import annotations

from firewall.engine import Action, Detector, Engine, MatcherKind, RuleSpec, Scope, Session

ALL_SCOPES = frozenset(Scope)


def rule(
    *,
    id: int = 1,
    name: str = "rule",
    detector: Detector | None = None,
    substring: str | None = None,
    regex: str | None = None,
    action: Action = Action.MASK,
    scopes: frozenset[Scope] = ALL_SCOPES,
    ignore_case: bool = False,
    label: str = "",
) -> RuleSpec:
    if detector is not None:
        return RuleSpec(id, name, MatcherKind.DETECTOR, scopes, action, detector=detector, label=label)
    if substring is not None:
        return RuleSpec(id, name, MatcherKind.SUBSTRING, scopes, action, substring, ignore_case, label=label)
    assert regex is not None
    return RuleSpec(id, name, MatcherKind.REGEX, scopes, action, regex, ignore_case, label=label)


def session(*specs: RuleSpec) -> Session:
    return Session(Engine.compile(specs))


def spans(detector: Detector, text: str) -> list[str]:
    """The texts a detector matches (for assertions in tests only)."""
    from firewall.engine.detectors import detector as get

    return [text[s:e] for s, e in get(detector).find(text)]
