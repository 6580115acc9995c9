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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from firewall.engine.banking import CardDetector, _iban_check
from firewall.engine.detector_base import (
    ALNUM,
    DIGIT_NEEDLES,
    DIGITS,
    TOKEN_CHARS,
    RegexDetector,
    Span,
    _after,
    _before,
    _compiled,
    _isolated,
    _mixed,
    entropy,
)
from firewall.engine.types import Detector

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
        if "-----BEGIN" not in text:
            return
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


DETECTORS: dict[Detector, RegexDetector | CardDetector | PrivateKeyDetector] = {
    Detector.OPENAI_KEY: RegexDetector(
        "OPENAI_KEY", r"sk-(?:proj-|svcacct-|admin-)?([A-Za-z0-9_-]{32,200})", _openai_check, needles=("sk-",)
    ),
    Detector.ANTHROPIC_KEY: RegexDetector(
        "ANTHROPIC_KEY",
        r"sk-ant-(?:api|admin|oat)[0-9]{2}-[A-Za-z0-9_-]{80,120}",
        _token_check(14),
        needles=("sk-ant-",),
    ),
    Detector.AWS_ACCESS_KEY: RegexDetector(
        "AWS_KEY",
        r"(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AGPA|ANPA|ANVA|APKA|AIPA)[A-Z2-7]{16}",
        _aws_check,
        needles=("A",),
    ),
    Detector.GITHUB_TOKEN: RegexDetector(
        "GITHUB_TOKEN",
        r"gh[pousr]_[A-Za-z0-9]{36,76}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        _token_check(4),
        needles=("gh", "github_pat_"),
    ),
    Detector.SLACK_TOKEN: RegexDetector(
        "SLACK_TOKEN",
        r"xox[abposre]-(?:[0-9]{6,16}-){1,3}[A-Za-z0-9]{8,64}"
        r"|xapp-[0-9]-[A-Z0-9]{8,14}-[0-9]{8,16}-[a-f0-9]{32,80}"
        r"|https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32}",
        _token_check(5, min_entropy=2.5),
        needles=("xox", "xapp-", "hooks.slack.com"),
    ),
    Detector.PRIVATE_KEY: PrivateKeyDetector(),
    Detector.JWT: RegexDetector(
        "JWT",
        r"(eyJ[A-Za-z0-9_-]{8,300})\.eyJ[A-Za-z0-9_-]{8,1000}\.[A-Za-z0-9_-]{0,350}",
        _jwt_check,
        needles=("eyJ",),
    ),
    Detector.GENERIC_SECRET: RegexDetector(
        "SECRET",
        r"(?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|secret|token"
        r"|password|passwd|pwd)[\"']?[ \t]{0,3}[:=][ \t]{0,3}[\"']?([A-Za-z0-9/+_.=~!@#$%^&*-]{12,128})",
        _generic_check,
        ignore_case=True,
        needles=("=", ":"),
    ),
    Detector.EMAIL: RegexDetector(
        "EMAIL",
        r"([A-Za-z0-9._%+-]{1,64})@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?\.){1,4}[A-Za-z]{2,24}",
        _email_check,
        needles=("@",),
    ),
    Detector.PHONE: RegexDetector(
        "PHONE",
        r"\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){1,5}[ .-]?[0-9]{2,6}"
        r"|(?:1[ .-])?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}",
        _phone_check,
        needles=DIGIT_NEEDLES,
    ),
    Detector.PAYMENT_CARD: CardDetector(),
    Detector.IBAN: RegexDetector(
        "IBAN", r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}", _iban_check, needles=DIGIT_NEEDLES
    ),
}


def detector(kind: Detector) -> RegexDetector | CardDetector | PrivateKeyDetector:
    return DETECTORS[kind]
