"""Built-in detectors: provider and cloud secrets, e-mail addresses, phone
numbers, payment cards (Luhn) and IBANs (mod 97).

Each detector is an RE2 pattern that finds candidates cheaply, plus a check in
Python that rejects near-misses (a word that happens to start ``sk-``, a
16-digit order number, a date). Every pattern has a bounded longest match,
which is the stream hold-back window of the detector.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from firewall.engine.regex import compile_bounded, window_for
from firewall.engine.types import Detector

Span = tuple[int, int]
ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
TOKEN_CHARS = ALNUM | {"_", "-"}
DIGITS = frozenset("0123456789")


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

    def compiled(self) -> Any:
        return _compiled(self.pattern, self.ignore_case)

    @property
    def max_length(self) -> int:
        return window_for(self.pattern)

    def find(self, text: str) -> Iterator[Span]:
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


# ------------------------------------------------------------------ secrets


def _token_check(prefix_len: int, *, need_upper: bool = False, min_entropy: float = 3.0):
    def check(text: str, m: Any) -> Span | None:
        start, end = m.span()
        if not _isolated(text, start, end, TOKEN_CHARS):
            return None
        body = text[start + prefix_len : end]
        if not _mixed(body, need_upper=need_upper) or entropy(body) < min_entropy:
            return None
        return start, end

    return check


def _openai_check(text: str, m: Any) -> Span | None:
    start, end = m.span()
    if text.startswith("sk-ant-", start) or not _isolated(text, start, end, TOKEN_CHARS):
        return None
    body = m.group(1)
    if not _mixed(body, need_upper=True) or entropy(body) < 3.5:
        return None
    return start, end


def _aws_check(text: str, m: Any) -> Span | None:
    start, end = m.span()
    return (start, end) if _isolated(text, start, end, ALNUM) else None


def _jwt_check(text: str, m: Any) -> Span | None:
    start, end = m.span()
    after = _after(text, end)
    if _before(text, start) in TOKEN_CHARS | {"."} or after in TOKEN_CHARS:
        return None
    if after == "." and _after(text, end + 1) in TOKEN_CHARS:
        return None
    header = m.group(1)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return (start, end) if isinstance(decoded, dict) and "alg" in decoded else None


_PLACEHOLDER_WORDS = ("example", "your", "xxxx", "changeme", "placeholder", "redacted", "dummy")


def _generic_check(text: str, m: Any) -> Span | None:
    start = m.start()
    if _before(text, start).isalpha():
        return None  # "mytoken=": the keyword is part of a longer word
    value_start, value_end = m.span(1)
    value = m.group(1)
    if _after(text, value_end) in TOKEN_CHARS:
        return None
    lowered = value.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return None
    if not _mixed(value) or entropy(value) < 3.5:
        return None
    return value_start, value_end


_PEM_HEAD = r"-----BEGIN ((?:[A-Z0-9]{1,10} ){0,2})PRIVATE KEY( BLOCK)?-----"
# A 4096-bit RSA key in PEM is ~3,300 characters; JSON-escaped newlines add a few.
PEM_MAX_BODY = 5000
_PEM_BODY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n\\")


@dataclass(frozen=True, slots=True)
class PrivateKeyDetector:
    """A PEM private key block: from its BEGIN line to the matching END line;
    without an END line within the bound, the header and the base64 that
    follows it (a truncated key is still a secret)."""

    label: str = "PRIVATE_KEY"

    @property
    def max_length(self) -> int:
        return 2 * 64 + PEM_MAX_BODY

    def find(self, text: str) -> Iterator[Span]:
        pos = 0
        for m in _compiled(_PEM_HEAD, False).finditer(text):
            if m.start() < pos:
                continue
            head_end = m.end()
            footer = f"-----END {m.group(1)}PRIVATE KEY{m.group(2) or ''}-----"
            end_at = text.find(footer, head_end, head_end + PEM_MAX_BODY + len(footer))
            if end_at >= 0:
                end = end_at + len(footer)
            else:
                end = head_end
                limit = min(len(text), head_end + PEM_MAX_BODY)
                while end < limit and text[end] in _PEM_BODY:
                    end += 1
            pos = end
            yield m.start(), end


# ----------------------------------------------------------------- personal

_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")


def _email_check(text: str, m: Any) -> Span | None:
    start, end = m.span()
    local = m.group(1)
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    if _before(text, start) in _EMAIL_LOCAL or _before(text, start) == "@":
        return None
    after = _after(text, end)
    if after in ALNUM or after in {"-", "_", "@"}:
        return None
    if after == "." and _after(text, end + 1) in ALNUM:
        return None  # the domain goes on; the regex stopped at its bound
    return start, end


_PHONE_SEPARATORS = frozenset(" .-")


def _phone_check(text: str, m: Any) -> Span | None:
    start, end = m.span()
    before, after = _before(text, start), _after(text, end)
    if before in ALNUM or before in {"+", "_", "/", "$", "#"} or after in ALNUM or after in {"_", "@"}:
        return None
    if before in _PHONE_SEPARATORS and _before(text, start - 1) in DIGITS:
        return None  # part of a longer run of numbers
    if after in _PHONE_SEPARATORS | {"/", ","} and _after(text, end + 1) in DIGITS:
        return None
    value = m.group(0)
    digits = [c for c in value if c.isdigit()]
    if value.startswith("+"):
        if not 8 <= len(digits) <= 15:
            return None
        # International numbers are written in groups, not as one long run.
        if not any(c in _PHONE_SEPARATORS or c in "()" for c in value) and len(digits) > 13:
            return None
        return start, end
    # North American: area code and exchange cannot start with 0 or 1.
    national = digits[1:] if len(digits) == 11 else digits
    if len(national) != 10 or national[0] in "01" or national[3] in "01":
        return None
    return start, end


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_brand_ok(number: str) -> bool:
    n = len(number)
    p2, p3, p4, p6 = int(number[:2]), int(number[:3]), int(number[:4]), int(number[:6])
    if number[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # American Express
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65 or 622126 <= p6 <= 622925:
        return 16 <= n <= 19  # Discover
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19  # JCB
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):
        return 14 <= n <= 19  # Diners Club
    if p2 == 62:
        return 16 <= n <= 19  # UnionPay
    if p4 in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763):
        return 12 <= n <= 19  # Maestro
    return False


# Accepted groupings of a card number written with separators.
_CARD_GROUPS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 4, 2)}


def _card_find(text: str) -> Iterator[Span]:
    for m in _compiled(_CARD_RUN, False).finditer(text):
        run_start, _run_end = m.span()
        run = m.group(0)
        # Groups of digits with their offsets inside the run.
        groups: list[tuple[int, int]] = []
        i = 0
        while i < len(run):
            j = i
            while j < len(run) and run[j].isdigit():
                j += 1
            groups.append((i, j))
            i = j + 1
        seps = {run[e] for _, e in groups[:-1]}
        found = _best_card(run, groups, seps)
        if found is None:
            continue
        start, end = run_start + found[0], run_start + found[1]
        before, after = _before(text, start), _after(text, end)
        if before in ALNUM or after in ALNUM or (before in {".", ","} and _before(text, start - 1) in DIGITS):
            continue
        yield start, end


def _best_card(run: str, groups: list[tuple[int, int]], seps: set[str]) -> Span | None:
    if len(groups) == 1:
        start, end = groups[0]
        digits = run[start:end]
        if 13 <= len(digits) <= 19 and card_brand_ok(digits) and luhn_valid(digits):
            return start, end
        return None
    if len(seps) != 1:
        return None
    # Longest group-aligned window first, from each starting group.
    for first in range(len(groups)):
        for last in range(len(groups) - 1, first, -1):
            sizes = tuple(e - s for s, e in groups[first : last + 1])
            if sizes not in _CARD_GROUPS:
                continue
            digits = "".join(run[s:e] for s, e in groups[first : last + 1])
            if card_brand_ok(digits) and luhn_valid(digits):
                return groups[first][0], groups[last][1]
    return None


_CARD_RUN = r"[0-9]{1,19}(?:[ -][0-9]{1,19}){0,7}"


# Lengths of IBANs by country (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_valid(compact: str) -> bool:
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def _iban_check(text: str, m: Any) -> Span | None:
    start = m.start()
    if _before(text, start) in ALNUM:
        return None
    run = m.group(0)
    want = IBAN_LENGTHS.get(run[:2])
    if want is None:
        return None
    taken = 0
    for i, ch in enumerate(run):
        if ch != " ":
            taken += 1
        if taken == want:
            end = start + i + 1
            if _after(text, end) in ALNUM:
                return None
            compact = run[: i + 1].replace(" ", "")
            return (start, end) if iban_valid(compact) else None
    return None


@dataclass(frozen=True, slots=True)
class CardDetector:
    label: str = "CARD"

    @property
    def max_length(self) -> int:
        return window_for(_CARD_RUN)

    def find(self, text: str) -> Iterator[Span]:
        return _card_find(text)


DETECTORS: dict[Detector, RegexDetector | CardDetector | PrivateKeyDetector] = {
    Detector.OPENAI_KEY: RegexDetector(
        "OPENAI_KEY", r"sk-(?:proj-|svcacct-|admin-)?([A-Za-z0-9_-]{32,200})", _openai_check
    ),
    Detector.ANTHROPIC_KEY: RegexDetector(
        "ANTHROPIC_KEY", r"sk-ant-(?:api|admin|oat)[0-9]{2}-[A-Za-z0-9_-]{80,120}", _token_check(14)
    ),
    Detector.AWS_ACCESS_KEY: RegexDetector(
        "AWS_KEY", r"(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AGPA|ANPA|ANVA|APKA|AIPA)[A-Z2-7]{16}", _aws_check
    ),
    Detector.GITHUB_TOKEN: RegexDetector(
        "GITHUB_TOKEN",
        r"gh[pousr]_[A-Za-z0-9]{36,76}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        _token_check(4),
    ),
    Detector.SLACK_TOKEN: RegexDetector(
        "SLACK_TOKEN",
        r"xox[abposre]-(?:[0-9]{6,16}-){1,3}[A-Za-z0-9]{8,64}"
        r"|xapp-[0-9]-[A-Z0-9]{8,14}-[0-9]{8,16}-[a-f0-9]{32,80}"
        r"|https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32}",
        _token_check(5, min_entropy=2.5),
    ),
    Detector.PRIVATE_KEY: PrivateKeyDetector(),
    Detector.JWT: RegexDetector(
        "JWT", r"(eyJ[A-Za-z0-9_-]{8,300})\.eyJ[A-Za-z0-9_-]{8,1000}\.[A-Za-z0-9_-]{0,350}", _jwt_check
    ),
    Detector.GENERIC_SECRET: RegexDetector(
        "SECRET",
        r"(?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|secret|token"
        r"|password|passwd|pwd)[\"']?[ \t]{0,3}[:=][ \t]{0,3}[\"']?([A-Za-z0-9/+_.=~!@#$%^&*-]{12,128})",
        _generic_check,
        ignore_case=True,
    ),
    Detector.EMAIL: RegexDetector(
        "EMAIL",
        r"([A-Za-z0-9._%+-]{1,64})@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?\.){1,4}[A-Za-z]{2,24}",
        _email_check,
    ),
    Detector.PHONE: RegexDetector(
        "PHONE",
        r"\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){1,5}[ .-]?[0-9]{2,6}"
        r"|(?:1[ .-])?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}",
        _phone_check,
    ),
    Detector.PAYMENT_CARD: CardDetector(),
    Detector.IBAN: RegexDetector("IBAN", r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}", _iban_check),
}


def detector(kind: Detector) -> RegexDetector | CardDetector | PrivateKeyDetector:
    return DETECTORS[kind]
