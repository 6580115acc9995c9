"""What every detector shares: neighbour checks, entropy, and the
pattern-plus-check detector with its per-process compiled patterns."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from firewall.engine.regex import compile_bounded, window_for

Span = tuple[int, int]
ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
TOKEN_CHARS = ALNUM | {"_", "-"}
DIGITS = frozenset("0123456789")
DIGIT_NEEDLES = tuple("0123456789")


def _before(text: str, start: int) -> str:
    return text[start - 1] if start > 0 else ""


def _after(text: str, end: int) -> str:
    return text[end] if end < len(text) else ""


def _isolated(text: str, start: int, end: int, chars: frozenset[str]) -> bool:
    return _before(text, start) not in chars and _after(text, end) not in chars


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _mixed(value: str, *, need_upper: bool = False) -> bool:
    has_digit = any(c.isdigit() for c in value)
    has_lower = any(c.islower() for c in value)
    has_upper = any(c.isupper() for c in value)
    if need_upper:
        return has_digit and has_lower and has_upper
    return has_digit and (has_lower or has_upper)


@dataclass(frozen=True, slots=True)
class RegexDetector:
    """A pattern plus a check ``(text, match) -> span | None``."""

    label: str
    pattern: str
    check: Callable[[str, Any], Span | None]
    ignore_case: bool = False
    # Literals of which every match contains at least one: a text without any
    # skips the regex call (most texts, most detectors; streams scan often).
    needles: tuple[str, ...] = ()

    def compiled(self) -> Any:
        return _compiled(self.pattern, self.ignore_case)

    @property
    def max_length(self) -> int:
        return window_for(self.pattern)

    def find(self, text: str) -> Iterator[Span]:
        if self.needles and not any(needle in text for needle in self.needles):
            return
        for m in self.compiled().finditer(text):
            span = self.check(text, m)
            if span is not None:
                yield span


_COMPILED: dict[tuple[str, bool], Any] = {}  # per-process cache of compiled built-in patterns


def _compiled(pattern: str, ignore_case: bool) -> Any:
    key = (pattern, ignore_case)
    rx = _COMPILED.get(key)
    if rx is None:
        rx = _COMPILED[key] = compile_bounded(pattern, ignore_case=ignore_case)
    return rx
