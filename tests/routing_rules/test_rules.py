"""Every condition and action type, rule ordering and the rule_trace."""

from __future__ import annotations

import json

import pytest

from gateway.errors import GatewayError
from routing_rules.router import RuleFormatError, label, request_features, route
from routing_rules.router.rules import compile_condition, condition_holds, evaluate_rules, pick_split
from tests.routing_rules.helpers import chat_request, everyone, rule, shipped_catalog

CAT = shipped_catalog()
TO_HAIKU = {"type": "route", "model": "anthropic:claude-haiku-4-5"}
IMAGE = [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]
FILE = [{"type": "file", "file": {"file_id": "file-1"}}]
TOOL = {"type": "function", "function": {"name": "f"}}


def holds(spec, req=None, *, key_prefix=None) -> bool:
    features = request_features(req or chat_request(), api_key_prefix=key_prefix)
    return condition_holds(compile_condition(spec, "c"), features)


@pytest.mark.parametrize(
    ("spec", "req", "expected"),
    [
        ({"type": "text_contains", "value": "REFUND"}, chat_request(text="I want a refund now"), True),
        (
            {"type": "text_contains", "value": "REFUND", "case_sensitive": True},
            chat_request(text="refund"),
            False,
        ),
        ({"type": "text_contains", "value": "invoice"}, chat_request(text="refund"), False),
        (
            {"type": "text_regex", "pattern": r"order #\d{4}"},
            chat_request(text="where is order #1234?"),
            True,
        ),
        ({"type": "text_regex", "pattern": r"^\d+$"}, chat_request(text="abc"), False),
        ({"type": "text_regex", "pattern": "refund"}, chat_request(text="REFUND"), False),
        (
            {"type": "text_regex", "pattern": "refund", "case_sensitive": False},
            chat_request(text="REFUND"),
            True,
        ),
        ({"type": "text_regex", "pattern": "(?i)refund"}, chat_request(text="REFUND"), True),
        (
            {"type": "metadata_equals", "key": "tier", "value": "gold"},
            chat_request(metadata={"tier": "gold"}),
            True,
        ),
        (
            {"type": "metadata_equals", "key": "tier", "value": "gold"},
            chat_request(metadata={"tier": "free"}),
            False,
        ),
        (
            {"type": "metadata_equals", "key": "team", "value": "search"},
            chat_request(user=json.dumps({"team": "search", "id": 7})),
            True,
        ),
        (
            {"type": "metadata_equals", "key": "team", "value": "search"},
            chat_request(user="team=search"),
            False,
        ),
        ({"type": "mode_equals", "value": "auto:cost"}, chat_request("auto:cost"), True),
        ({"type": "mode_equals", "value": "cost"}, chat_request("gpt-4o", router_mode="cost"), True),
        ({"type": "mode_equals", "value": "fast"}, chat_request("auto:latency"), True),
        ({"type": "mode_equals", "value": "cost"}, chat_request("gpt-4o"), False),
        ({"type": "model_equals", "value": "gpt-4o"}, chat_request("gpt-4o"), True),
        ({"type": "model_equals", "value": "gpt-4o"}, chat_request("gpt-4o-mini"), False),
        ({"type": "model_regex", "pattern": "^claude-"}, chat_request("claude-haiku-4-5"), True),
        ({"type": "model_regex", "pattern": "^claude-"}, chat_request("gpt-4o"), False),
        ({"type": "input_tokens_above", "value": 100}, chat_request(text="x" * 1000), True),
        ({"type": "input_tokens_above", "value": 100}, chat_request(text="short"), False),
        ({"type": "has_tools"}, chat_request(tools=[TOOL]), True),
        ({"type": "has_tools"}, chat_request(), False),
        ({"type": "has_images"}, chat_request(messages=[{"role": "user", "content": IMAGE}]), True),
        ({"type": "has_images"}, chat_request(), False),
        ({"type": "has_files"}, chat_request(messages=[{"role": "user", "content": FILE}]), True),
        ({"type": "has_files"}, chat_request(), False),
        ({"type": "has_tools", "negate": True}, chat_request(), True),
    ],
)
def test_condition(spec, req, expected):
    assert holds(spec, req) is expected


def test_api_key_condition_matches_key_prefixes():
    spec = {"type": "api_key_in", "values": ["jk_aaa", "jk_bbb"]}
    assert holds(spec, key_prefix="jk_bbb") is True
    assert holds(spec, key_prefix="jk_ccc") is False
    assert holds(spec, key_prefix=None) is False


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"type": "text_regex", "pattern": "(unclosed"}, "not a valid RE2"),
        ({"type": "text_regex", "pattern": r"(a)\1"}, "not a valid RE2"),  # backreferences: not linear time
        ({"type": "metadata_equals", "value": "x"}, "c.key"),
        ({"type": "input_tokens_above", "value": -1}, "non-negative"),
        ({"type": "api_key_in", "values": []}, "c.values"),
        ({"type": "nope"}, "c.type"),
    ],
)
def test_invalid_conditions_are_refused_with_the_field(spec, fragment):
    with pytest.raises(RuleFormatError) as exc:
        compile_condition(spec, "c")
    assert fragment in str(exc.value)


@pytest.mark.parametrize(
    "action",
    [
        {"type": "route"},
        {"type": "fallbacks", "models": []},
        {"type": "split", "targets": [{"model": "a", "weight": 0}]},
        {"type": "split", "targets": [{"model": "a", "weight": "3"}]},
        {"type": "explode"},
    ],
)
def test_invalid_actions_are_refused(action):
    with pytest.raises(RuleFormatError):
        rule(1, [], action)


# ----------------------------------------------------------------- actions


def test_route_action_replaces_the_requested_model_and_keeps_its_fallbacks():
    rules = [
        rule(1, [{"type": "text_contains", "value": "cheap"}], {**TO_HAIKU, "fallbacks": ["gpt-4o-mini"]})
    ]
    decision = route(chat_request("gpt-4o", text="cheap please"), CAT, is_configured=everyone, rules=rules)
    assert [label(d) for d in decision.candidates] == [
        "anthropic/claude-haiku-4-5",
        "openai/gpt-4o-mini",
        "openrouter/gpt-4o-mini",
    ]
    assert decision.rule_id == 1 and decision.header.startswith("rule=1:route;")
    assert decision.trace[0]["source"] == "rule:1" and decision.trace[1]["source"] == "fallback:rule:1"


def test_route_action_can_pick_an_auto_mode():
    rules = [rule(1, [{"type": "has_tools", "negate": True}], {"type": "route", "model": "auto:cost"})]
    decision = route(chat_request("gpt-4o"), CAT, is_configured=everyone, rules=rules)
    assert decision.mode == "cost"


def test_fallbacks_action_sets_the_chain_and_lets_later_rules_run():
    rules = [
        rule(1, [], {"type": "fallbacks", "models": ["mistral:mistral-small-latest"]}),
        rule(2, [], {"type": "fallbacks", "models": ["deepseek-chat"]}),
        rule(3, [{"type": "model_equals", "value": "gpt-4o"}], TO_HAIKU),
    ]
    decision = route(chat_request("gpt-4o"), CAT, is_configured=everyone, rules=rules)
    assert [label(d) for d in decision.candidates] == [
        "anthropic/claude-haiku-4-5",
        "mistral/mistral-small-latest",
    ]
    assert [e["matched"] for e in decision.rule_trace] == [True, True, True]
    assert decision.rule_trace[1]["action"]["ignored"]


def test_fallback_chain_applies_without_a_terminal_rule():
    rules = [rule(1, [], {"type": "fallbacks", "models": ["claude-haiku-4-5"]})]
    decision = route(chat_request("gpt-4o-mini"), CAT, is_configured=everyone, rules=rules)
    assert [label(d) for d in decision.candidates][-2:] == [
        "anthropic/claude-haiku-4-5",
        "openrouter/claude-haiku-4-5",
    ]


def test_split_action_follows_the_weights():
    targets = [{"model": "gpt-4o-mini", "weight": 80}, {"model": "claude-haiku-4-5", "weight": 20}]
    rules = [rule(1, [], {"type": "split", "targets": targets})]
    first = route(chat_request(), CAT, is_configured=everyone, rules=rules, roll=0.79)
    second = route(chat_request(), CAT, is_configured=everyone, rules=rules, roll=0.80)
    assert first.candidates[0].model.model_id == "gpt-4o-mini"
    assert second.candidates[0].model.model_id == "claude-haiku-4-5"
    # the other target stays as a fallback
    assert "openai/gpt-4o-mini" in [label(d) for d in second.candidates]
    picks = [pick_split([("a", 3), ("b", 1)], i / 100)[0] for i in range(100)]
    assert picks.count("a") == 75


def test_block_action_refuses_naming_only_the_blocking_rule():
    rules = [
        rule(1, [{"type": "metadata_equals", "key": "env", "value": "prod"}], TO_HAIKU),
        rule(
            2,
            [{"type": "text_regex", "pattern": "(?i)password"}],
            {"type": "block", "message": "No secrets."},
        ),
    ]
    with pytest.raises(GatewayError) as exc:
        route(chat_request(text="my PASSWORD is"), CAT, is_configured=everyone, rules=rules)
    err = exc.value
    assert err.status == 422 and err.message == "No secrets." and err.code == "request_blocked"
    # Only the blocking rule is named: rule 1 was tried, but the caller never learns of it.
    assert [e["rule_id"] for e in err.rule_trace] == [2]
    assert err.rule_trace[0]["matched"] is True
    assert err.rule_trace[0]["action"] == {"type": "block", "message": "No secrets."}
    assert err.headers["x-junction-route"] == "rule=2:block; candidates=none"


def test_route_to_an_unknown_model_skips_it_and_falls_through_to_the_chain():
    rules = [rule(1, [], {"type": "route", "model": "retired-model", "fallbacks": ["gpt-4o-mini"]})]
    decision = route(chat_request("gpt-4o"), CAT, is_configured=everyone, rules=rules)
    assert decision.trace[0]["skipped"] == "unknown model"
    assert decision.candidates[0].model.model_id == "gpt-4o-mini"


# ------------------------------------------------------------------- trace


def test_trace_records_every_rule_which_condition_decided_and_the_action():
    rules = [
        rule(1, [{"type": "has_tools"}, {"type": "text_contains", "value": "x"}], TO_HAIKU, name="tools"),
        rule(2, [{"type": "has_images"}, {"type": "text_contains", "value": "hello"}], TO_HAIKU, match="any"),
        rule(3, [], TO_HAIKU, name="never reached"),
    ]
    outcome = evaluate_rules(rules, request_features(chat_request(text="hello")))
    assert outcome.trace == [
        {
            "rule_id": 1,
            "name": "tools",
            "priority": 10,
            "matched": False,
            "decided_by": {"index": 0, "type": "has_tools"},
            "action": None,
        },
        {
            "rule_id": 2,
            "name": "rule 2",
            "priority": 20,
            "matched": True,
            "decided_by": {"index": 1, "type": "text_contains"},
            "action": {"type": "route", "model": "anthropic:claude-haiku-4-5"},
        },
    ]
    assert outcome.terminal is rules[1]


def test_empty_condition_list_always_matches():
    outcome = evaluate_rules([rule(1, [], TO_HAIKU)], request_features(chat_request()))
    assert outcome.trace[0]["matched"] is True and outcome.trace[0]["decided_by"] is None


def test_cheap_conditions_decide_before_the_prompt_is_scanned():
    regex_then_metadata = rule(
        1,
        [{"type": "text_regex", "pattern": "hello"}, {"type": "metadata_equals", "key": "app", "value": "x"}],
        TO_HAIKU,
    )
    outcome = evaluate_rules([regex_then_metadata], request_features(chat_request(text="hello")))
    assert outcome.trace[0]["matched"] is False
    assert outcome.trace[0]["decided_by"] == {"index": 1, "type": "metadata_equals", "key": "app"}
