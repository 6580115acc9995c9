"""Payment cards (issuer prefix and Luhn check digit) and IBANs (country
length and mod-97 check)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from firewall.engine.detector_base import ALNUM, DIGIT_NEEDLES, DIGITS, Span, _after, _before, _compiled
from firewall.engine.regex import window_for


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
    if not any(d in text for d in DIGIT_NEEDLES):
        return
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


# Candidate runs: at least 13 characters of digits and separators, digits at both ends.
_CARD_RUN = r"[0-9][0-9 -]{11,157}[0-9]"


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
