"""The firewall's vocabulary: scopes, actions, matcher kinds, detectors, and
the plain rule description the engine compiles. No Django, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    PROMPT = "prompt"  # every text the client sends
    RESPONSE = "response"  # every text the model returns, tool-call arguments included
    METADATA = "metadata"  # request ``metadata`` values and the ``user`` field


class Action(StrEnum):
    WARN = "warn"  # pass through, record
    MASK = "mask"  # replace each match with a typed placeholder
    BLOCK = "block"  # refuse the request / withhold the answer


class MatcherKind(StrEnum):
    SUBSTRING = "substring"
    REGEX = "regex"
    DETECTOR = "detector"


class Detector(StrEnum):
    OPENAI_KEY = "openai_key"
    ANTHROPIC_KEY = "anthropic_key"
    AWS_ACCESS_KEY = "aws_access_key"
    GITHUB_TOKEN = "github_token"
    SLACK_TOKEN = "slack_token"
    PRIVATE_KEY = "private_key"
    JWT = "jwt"
    GENERIC_SECRET = "generic_secret"
    EMAIL = "email"
    PHONE = "phone"
    PAYMENT_CARD = "payment_card"
    IBAN = "iban"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One enabled rule, as the engine needs it (already ordered by the caller)."""

    id: int
    name: str
    matcher: MatcherKind
    scopes: frozenset[Scope]
    action: Action
    pattern: str = ""
    ignore_case: bool = False
    detector: Detector | None = None
    label: str = ""  # placeholder label override, e.g. "CODENAME" -> [CODENAME_1]
    policy_id: int | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """What is recorded about a rule that applied: never the matched text."""

    rule_id: int
    rule: str
    policy_id: int | None
    scope: Scope
    action: Action
    count: int

    def as_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "rule": self.rule,
            "policy_id": self.policy_id,
            "scope": str(self.scope),
            "action": str(self.action),
            "count": self.count,
        }


class Blocked(Exception):
    """A block rule matched. Carries the rule, never the matched text."""

    def __init__(self, *, rule_id: int, rule: str, scope: Scope) -> None:
        super().__init__(f"blocked by rule '{rule}' ({scope})")
        self.rule_id = rule_id
        self.rule = rule
        self.scope = scope
