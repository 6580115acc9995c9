"""Bounded regular expressions: RE2 (linear time, no backtracking), a size
limit on the pattern and on the compiled program, and a static bound on the
longest possible match (used as the stream hold-back window)."""

from __future__ import annotations

import re._parser as sre_parse  # type: ignore[import-not-found]  # private stdlib module typeshed has no stub for; only for the static width of a pattern
from typing import Any

import re2

MAX_PATTERN_CHARS = 1000
MAX_PROGRAM_SIZE = 20_000
MAX_MEMORY = 8 << 20
# Window used for a pattern whose longest match is unbounded (``\d+``): in a
# stream, a match longer than this may be released in two pieces.
UNBOUNDED_WINDOW = 256
MAX_WINDOW = 8192


class PatternError(ValueError):
    """A pattern that cannot be used, with the reason a person can act on."""


def _options(*, ignore_case: bool, literal: bool) -> Any:
    opts = re2.Options()
    opts.max_mem = MAX_MEMORY
    opts.log_errors = False
    opts.case_sensitive = not ignore_case
    opts.literal = literal
    return opts


def compile_bounded(pattern: str, *, ignore_case: bool = False, literal: bool = False) -> Any:
    if not pattern:
        raise PatternError("The pattern is empty.")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"The pattern is longer than {MAX_PATTERN_CHARS} characters.")
    try:
        compiled = re2.compile(pattern, _options(ignore_case=ignore_case, literal=literal))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"Invalid regular expression: {reason}.") from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise PatternError(
            f"The regular expression is too complex (program size {compiled.programsize}, "
            f"limit {MAX_PROGRAM_SIZE}); use smaller repetition counts."
        )
    if compiled.search("") is not None:
        raise PatternError("The regular expression matches the empty string.")
    return compiled


def longest_match(pattern: str, *, literal: bool = False) -> int | None:
    """The most characters one match can span, or None if unbounded/unknown."""
    if literal:
        return len(pattern)
    try:
        high = sre_parse.parse(pattern).getwidth()[1]
    except Exception:  # RE2 syntax Python's parser does not know
        return None
    return high if high <= MAX_WINDOW else None


def window_for(pattern: str, *, literal: bool = False) -> int:
    bound = longest_match(pattern, literal=literal)
    return UNBOUNDED_WINDOW if bound is None else max(bound, 1)
