"""The management API answers every body with a 2xx or a 4xx: integers are
range-checked, unknown fields refused, and mutated valid bodies (hypothesis,
``tests.fuzz``) never reach the database as a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz import EXAMPLES, mutated

pytestmark = pytest.mark.django_db

RULE = {
    "name": "gold",
    "priority": 10,
    "match": "all",
    "conditions": [{"type": "metadata_equals", "key": "tier", "value": "gold"}],
    "action": {"type": "route", "model": "openai:gpt-4o-mini", "fallbacks": ["gpt-4o"]},
}
SPLIT = {"name": "ab", "action": {"type": "split", "targets": [{"model": "gpt-4o", "weight": 1}]}}
POLICY = {
    "name": "pii",
    "order": 1,
    "rules": [
        {
            "name": "cards",
            "order": 0,
            "matcher": "regex",
            "pattern": "[0-9]{16}",
            "scopes": ["prompt"],
            "action": "block",
        }
    ],
}
LIMITS = {"rpm_limit": 60, "tpm_limit": 10_000, "spend_limit_units": 5_000, "spend_period": "day"}
KEY = {"name": "ci", "scope": "inference"}


def _send(manage_client, method: str, path: str, body: object):
    return getattr(manage_client, method)(f"/api/manage/{path}", body, format="json")


def _targets(api_key) -> dict[str, tuple[str, str, dict]]:
    return {
        "routing-rule": ("post", "routing-rules/", RULE),
        "routing-split": ("post", "routing-rules/", SPLIT),
        "firewall-policy": ("post", "firewall/policies/", POLICY),
        "key-limits": ("put", f"keys/{api_key.prefix}/limits", LIMITS),
        "key": ("post", "keys", KEY),
    }


@pytest.mark.parametrize("target", ["routing-rule", "routing-split", "firewall-policy", "key-limits", "key"])
def test_valid_sample_bodies_are_accepted(manage_client, api_key, target):
    method, path, body = _targets(api_key)[target]
    resp = _send(manage_client, method, path, body)
    assert resp.status_code in (200, 201), resp.content


@pytest.mark.parametrize(
    ("target", "patch", "field"),
    [
        ("key-limits", {"rpm_limit": 2**31}, "rpm_limit"),
        ("key-limits", {"tpm_limit": 2**31}, "tpm_limit"),
        ("key-limits", {"spend_limit_units": 2**63}, "spend_limit_units"),
        ("firewall-policy", {"order": 2**31}, "order"),
        ("firewall-policy", {"order": -(2**31) - 1}, "order"),
        ("routing-rule", {"priority": 2**31}, "priority"),
        ("key-limits", {"rpm": 5}, "rpm"),
        ("routing-rule", {"colour": "red"}, "colour"),
    ],
)
def test_out_of_range_integers_and_unknown_fields_are_a_400_naming_them(
    manage_client, api_key, target, patch, field
):
    method, path, body = _targets(api_key)[target]
    resp = _send(manage_client, method, path, {**body, **patch})
    assert resp.status_code == 400, resp.content
    assert field in resp.json()["error"]["detail"]


@pytest.mark.parametrize(
    ("action", "named"),
    [
        ({"type": "route", "model": "gpt-4o", "base_url": "https://evil.example"}, "action.base_url"),
        ({"type": "block", "message": "no", "model": "x"}, "action.model"),
        (
            {"type": "split", "targets": [{"model": "gpt-4o", "weight": 1, "key": "k"}]},
            "action.targets[0].key",
        ),
    ],
)
def test_routing_rule_actions_with_unknown_fields_are_refused(manage_client, action, named):
    resp = _send(manage_client, "post", "routing-rules/", {**RULE, "action": action})
    assert resp.status_code == 400, resp.content
    assert named in str(resp.json()["error"]["detail"])


@pytest.mark.parametrize("target", ["routing-rule", "routing-split", "firewall-policy", "key-limits", "key"])
def test_mutated_bodies_never_get_a_5xx(manage_client, api_key, target):
    method, path, valid = _targets(api_key)[target]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=mutated(valid))
    def check(body: dict) -> None:
        resp = _send(manage_client, method, path, body)
        assert resp.status_code < 500, (resp.status_code, resp.content[:300], body)

    check()
