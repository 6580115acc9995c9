"""Matchers: substring, regular expression, built-in detector. Each finds
``(start, end)`` spans in a text and knows its longest possible match."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from firewall.engine.detectors import Span, detector
from firewall.engine.regex import PatternError, compile_bounded, window_for
from firewall.engine.types import MatcherKind, RuleSpec

_LABEL_CHARS = re.compile(r"[^A-Z0-9]+")


class Matcher(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def max_length(self) -> int: ...

    def find(self, text: str) -> Iterator[Span]: ...


@dataclass(frozen=True, slots=True)
class PatternMatcher:
    """Substring (a literal pattern) or regular expression, both run by RE2."""

    compiled: Any
    label: str
    max_length: int

    def find(self, text: str) -> Iterator[Span]:
        for m in self.compiled.finditer(text):
            start, end = m.span()
            if end > start:
                yield start, end


@dataclass(frozen=True, slots=True)
class DetectorMatcher:
    inner: Any
    label: str
    max_length: int

    def find(self, text: str) -> Iterator[Span]:
        return self.inner.find(text)


def clean_label(label: str) -> str:
    return _LABEL_CHARS.sub("_", label.upper()).strip("_")[:32]


def build_matcher(spec: RuleSpec) -> Matcher:
    """Compile one rule's matcher; ``PatternError`` says why it cannot be used."""
    label = clean_label(spec.label)
    if spec.matcher is MatcherKind.DETECTOR:
        if spec.detector is None:
            raise PatternError("A detector rule needs a detector.")
        inner = detector(spec.detector)
        return DetectorMatcher(inner=inner, label=label or inner.label, max_length=inner.max_length)
    literal = spec.matcher is MatcherKind.SUBSTRING
    compiled = compile_bounded(spec.pattern, ignore_case=spec.ignore_case, literal=literal)
    return PatternMatcher(
        compiled=compiled,
        label=label or "REDACTED",
        max_length=window_for(spec.pattern, literal=literal),
    )
