"""Matchers, actions and masking on whole texts; bounded regexes."""

from __future__ import annotations

import json
import time

import pytest

from firewall.engine import Action, Blocked, Detector, PatternError, Scope
from firewall.engine.regex import UNBOUNDED_WINDOW, compile_bounded, window_for
from tests.firewall.helpers import rule, session


def test_substring_is_case_sensitive_unless_asked():
    s = session(rule(substring="Project Falcon", label="codename"))
    assert s.process("project falcon and Project Falcon", Scope.PROMPT) == "project falcon and [CODENAME_1]"
    s = session(rule(substring="Project Falcon", ignore_case=True, label="codename"))
    assert s.process("PROJECT FALCON, project falcon", Scope.PROMPT) == "[CODENAME_1], [CODENAME_2]"


def test_substring_is_literal_not_a_pattern():
    s = session(rule(substring="a.b*"))
    assert s.process("axb a.b* aab", Scope.PROMPT) == "axb [REDACTED_1] aab"


def test_regex_matcher():
    s = session(rule(regex=r"INC-[0-9]{4,6}", label="ticket"))
    assert s.process("see INC-1234 and INC-99", Scope.PROMPT) == "see [TICKET_1] and INC-99"
    s = session(rule(regex=r"inc-[0-9]+", ignore_case=True))
    assert s.process("INC-77", Scope.PROMPT) == "[REDACTED_1]"


def test_same_value_same_placeholder_within_one_request():
    s = session(rule(detector=Detector.EMAIL))
    first = s.process("from a@example.com to b@example.com", Scope.PROMPT)
    second = s.process("reply to b@example.com, cc a@example.com", Scope.RESPONSE)
    assert first == "from [EMAIL_1] to [EMAIL_2]"
    assert second == "reply to [EMAIL_2], cc [EMAIL_1]"
    assert session(rule(detector=Detector.EMAIL)).process("b@example.com", Scope.PROMPT) == "[EMAIL_1]"


def test_warn_passes_text_and_counts():
    s = session(rule(detector=Detector.EMAIL, action=Action.WARN, name="pii"))
    text = "a@example.com b@example.com"
    assert s.process(text, Scope.PROMPT) == text
    assert s.records() == [
        {"rule_id": 1, "rule": "pii", "policy_id": None, "scope": "prompt", "action": "warn", "count": 2}
    ]


def test_block_raises_with_rule_and_scope_and_counts_every_rule():
    s = session(
        rule(id=1, name="emails", detector=Detector.EMAIL, action=Action.WARN),
        rule(id=2, name="no keys", detector=Detector.AWS_ACCESS_KEY, action=Action.BLOCK),
    )
    with pytest.raises(Blocked) as info:
        s.process("AKIAIOSFODNN7EXAMPLE for a@example.com", Scope.RESPONSE)
    assert (info.value.rule, info.value.rule_id, info.value.scope) == ("no keys", 2, Scope.RESPONSE)
    assert {(r["rule"], r["count"]) for r in s.records()} == {("emails", 1), ("no keys", 1)}


@pytest.mark.parametrize("scope", list(Scope))
@pytest.mark.parametrize("action", list(Action))
def test_each_action_applies_only_to_its_scopes(scope, action):
    other = next(s for s in Scope if s is not scope)
    s = session(rule(substring="Falcon", action=action, scopes=frozenset({scope})))
    assert s.process("Falcon", other) == "Falcon"
    if action is Action.BLOCK:
        with pytest.raises(Blocked):
            s.process("Falcon", scope)
    else:
        expected = "Falcon" if action is Action.WARN else "[REDACTED_1]"
        assert s.process("Falcon", scope) == expected
    assert [(r["scope"], r["action"], r["count"]) for r in s.records()] == [(str(scope), str(action), 1)]


def test_overlapping_masks_take_leftmost_then_longest():
    s = session(
        rule(id=1, substring="alpha beta", label="long"),
        rule(id=2, substring="beta gamma", label="other"),
        rule(id=3, substring="alpha", label="short"),
    )
    assert s.process("alpha beta gamma", Scope.PROMPT) == "[LONG_1] gamma"


def test_records_never_contain_the_matched_text():
    secret = "AKIAIOSFODNN7EXAMPLE"
    s = session(
        rule(id=1, detector=Detector.AWS_ACCESS_KEY, action=Action.MASK),
        rule(id=2, substring="hunter2-password", action=Action.WARN),
    )
    s.process(f"{secret} hunter2-password", Scope.PROMPT)
    dumped = json.dumps(s.records())
    assert secret not in dumped and "hunter2" not in dumped
    assert len(s.records()) == 2


# ------------------------------------------------------------ bounded regexes


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(unclosed", "missing )"),
        ("a{2,1}", "invalid repetition"),
        ("(?<=x)y", "invalid perl operator"),  # look-behind: not linear, RE2 refuses it
        (r"(\w+)\1", "invalid escape"),  # back-reference
        ("a*", "empty string"),
        ("x" * 1001, "longer than 1000"),
        ("((a{1,100}){1,100}){1,100}", "repetition"),
        (r"\w{1000}" * 10, "too complex"),
        (".{1000}" * 25, "too complex"),
    ],
)
def test_invalid_or_oversized_patterns_are_refused_with_a_reason(pattern, reason):
    with pytest.raises(PatternError) as info:
        compile_bounded(pattern)
    assert reason in str(info.value).lower()


def test_pathological_pattern_and_input_finish_within_the_bound():
    # Catastrophic for a backtracking engine; linear for RE2.
    s = session(rule(regex=r"(a+)+$"), rule(id=2, regex=r"(x|x)*y"), rule(id=3, regex=r"(.*a){12}"))
    hostile = "a" * 200_000 + "!" + "x" * 200_000
    started = time.perf_counter()
    s.process(hostile, Scope.PROMPT)
    assert time.perf_counter() - started < 5.0


def test_scan_budget_bounds_input_length():
    s = session(rule(substring="needle"))
    s.scan_budget = 1_000
    text = "x" * 2_000 + "needle"
    assert s.process(text, Scope.PROMPT) == text  # beyond the bound: not scanned
    assert s.scan_truncated


def test_window_is_the_longest_possible_match():
    assert window_for("abc", literal=True) == 3
    assert window_for(r"INC-[0-9]{4,6}") == 10
    assert window_for(r"INC-[0-9]+") == UNBOUNDED_WINDOW
