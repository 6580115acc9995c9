"""Management API: rules CRUD and reorder, the preview, roles, workspace isolation."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import KeyScope, Role
from routing_rules.models import RoutingRule
from routing_rules.services import routing_rule_create
from tests.conftest import make_key
from tests.factories import MembershipFactory

RULES = "/api/manage/routing-rules/"
PREVIEW = "/api/manage/routing/preview"
SENTINEL = "sentinel-7f3a-other-workspace"
HAIKU = {"type": "route", "model": "anthropic:claude-haiku-4-5"}


def client_for(key) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    return api


@pytest.fixture
def other_rule(other_workspace) -> RoutingRule:
    return routing_rule_create(
        workspace=other_workspace,
        name=SENTINEL,
        conditions=[{"type": "text_contains", "value": SENTINEL}],
        action={"type": "block", "message": SENTINEL},
    )


def test_create_list_update_delete(manage_client):
    created = manage_client.post(
        RULES,
        {
            "name": "refunds to haiku",
            "conditions": [{"type": "text_contains", "value": "refund"}],
            "action": HAIKU,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["priority"] == 10 and rule["enabled"] is True and rule["match"] == "all"
    second = manage_client.post(RULES, {"name": "b", "action": {"type": "block"}}, format="json").json()
    assert second["priority"] == 20

    listed = manage_client.get(RULES).json()
    assert [r["name"] for r in listed] == ["refunds to haiku", "b"]

    patched = manage_client.patch(f"{RULES}{rule['id']}", {"enabled": False}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert patched.json()["action"] == HAIKU

    assert manage_client.delete(f"{RULES}{rule['id']}").status_code == 204
    assert [r["name"] for r in manage_client.get(RULES).json()] == ["b"]


def test_invalid_regex_is_refused_on_save(manage_client):
    response = manage_client.post(
        RULES,
        {"name": "bad", "conditions": [{"type": "text_regex", "pattern": "(a+"}], "action": HAIKU},
        format="json",
    )
    assert response.status_code == 400
    assert "conditions[0].pattern" in response.json()["error"]["detail"]["rule"][0]
    assert not RoutingRule.objects.exists()


def test_patch_is_validated_against_the_stored_rule(manage_client, workspace):
    rule = routing_rule_create(workspace=workspace, name="r", conditions=[], action=HAIKU)
    response = manage_client.patch(
        f"{RULES}{rule.pk}", {"action": {"type": "split", "targets": []}}, format="json"
    )
    assert response.status_code == 400
    rule.refresh_from_db()
    assert rule.action == HAIKU


def test_reorder(manage_client, workspace):
    a, b, c = (routing_rule_create(workspace=workspace, name=n, conditions=[], action=HAIKU) for n in "abc")
    response = manage_client.post(f"{RULES}reorder", {"order": [c.pk, a.pk, b.pk]}, format="json")
    assert response.status_code == 200
    assert [r["name"] for r in manage_client.get(RULES).json()] == ["c", "a", "b"]
    partial = manage_client.post(f"{RULES}reorder", {"order": [c.pk, a.pk]}, format="json")
    assert partial.status_code == 400


def test_members_read_but_cannot_write(workspace):
    member = MembershipFactory(workspace=workspace, role=Role.MEMBER).user
    api = APIClient()
    api.force_authenticate(member)
    assert api.get(RULES).status_code == 200
    assert api.post(RULES, {"name": "x", "action": HAIKU}, format="json").status_code == 403
    # the preview changes nothing, so members may use it
    assert (
        api.post(
            PREVIEW,
            {"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}},
            format="json",
        ).status_code
        == 200
    )


def test_inference_keys_cannot_use_the_management_api(api_key):
    assert client_for(api_key).get(RULES).status_code == 403


def test_other_workspaces_rules_are_invisible_and_untouchable(manage_client, other_rule):
    listing = manage_client.get(RULES)
    assert listing.status_code == 200 and SENTINEL not in listing.content.decode()
    for response in (
        manage_client.get(f"{RULES}{other_rule.pk}"),
        manage_client.patch(f"{RULES}{other_rule.pk}", {"name": "mine now"}, format="json"),
        manage_client.delete(f"{RULES}{other_rule.pk}"),
    ):
        assert response.status_code == 404
        assert SENTINEL not in response.content.decode()
    assert manage_client.post(f"{RULES}reorder", {"order": [other_rule.pk]}, format="json").status_code == 400
    other_rule.refresh_from_db()
    assert other_rule.name == SENTINEL and other_rule.priority == 10


def test_preview_does_not_run_other_workspaces_rules(manage_client, other_rule, catalog, fake_openai):
    body = {"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": SENTINEL}]}}
    response = manage_client.post(PREVIEW, body, format="json")
    assert response.status_code == 200
    assert SENTINEL not in response.content.decode()
    assert response.json()["outcome"] == "routed" and response.json()["rule_trace"] == []


def test_schema_documents_the_routing_endpoints(manage_client):
    schema = manage_client.get("/api/manage/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        RULES,
        "/api/manage/routing-rules/{id}/",
        "/api/manage/routing-rules/reorder/",
        "/api/manage/routing/preview/",
        "/api/manage/provider-keys/",
        "/api/manage/provider-keys/{id}/",
    ):
        assert path in paths
        # Served without the slash too, but documented once.
        assert path.rstrip("/") not in paths


# ----------------------------------------------------------------- preview


def test_preview_returns_decision_scores_and_trace_without_calling_upstream(
    manage_client, workspace, catalog, fake_openai, settings
):
    routing_rule_create(
        workspace=workspace,
        name="cheap when asked",
        conditions=[{"type": "metadata_equals", "key": "budget", "value": "low"}],
        action={"type": "route", "model": "auto:cost"},
    )
    body = {
        "request": {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "metadata": {"budget": "low"},
        }
    }
    response = manage_client.post(PREVIEW, body, format="json")
    assert response.status_code == 200, response.content
    out = response.json()
    assert out["outcome"] == "routed" and out["routing_mode"] == "cost"
    assert out["rule_trace"][0]["matched"] is True
    assert out["rule_trace"][0]["decided_by"] == {"index": 0, "type": "metadata_equals", "key": "budget"}
    # only openai is configured (the fake): every candidate is an openai deployment, scored
    assert out["candidates"] and {c["provider"] for c in out["candidates"]} == {"openai"}
    assert all(c["score"] is not None and c["key_source"] == "platform" for c in out["candidates"])
    scores = [c["score"] for c in out["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert out["header"].startswith(f"rule={out['rule_id']}:route; mode=cost")
    assert fake_openai.requests == []


def test_preview_reports_blocks_and_no_eligible(manage_client, workspace, catalog, fake_openai):
    routing_rule_create(
        workspace=workspace,
        name="no ssn",
        conditions=[{"type": "text_regex", "pattern": r"\d{3}-\d{2}-\d{4}"}],
        action={"type": "block", "message": "No SSNs."},
    )
    blocked = manage_client.post(
        PREVIEW,
        {"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "123-45-6789"}]}},
        format="json",
    ).json()
    assert blocked["outcome"] == "blocked" and blocked["error"]["message"] == "No SSNs."
    none = manage_client.post(
        PREVIEW,
        {"request": {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "x"}]}},
        format="json",
    ).json()
    assert none["outcome"] == "error" and none["error"]["http_status"] == 422
    with_byok = manage_client.post(
        PREVIEW,
        {
            "request": {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "x"}]},
            "byok_providers": ["anthropic"],
        },
        format="json",
    ).json()
    assert with_byok["candidates"][0] == {
        **with_byok["candidates"][0],
        "deployment": "anthropic/claude-haiku-4-5",
        "key_source": "header",
    }
    assert fake_openai.requests == []


def test_preview_rejects_an_invalid_sample(manage_client):
    response = manage_client.post(PREVIEW, {"request": {"model": "gpt-4o"}}, format="json")
    assert response.status_code == 400


def test_admin_key_of_other_workspace_sees_only_its_own(other_workspace, other_rule, manage_client):
    other_admin = client_for(make_key(other_workspace, scope=KeyScope.ADMIN))
    assert [r["name"] for r in other_admin.get(RULES).json()] == [SENTINEL]
    assert manage_client.get(RULES).json() == []


def test_preview_takes_the_key_prefix_and_the_split_draw(manage_client, workspace, catalog, upstreams):
    routing_rule_create(
        workspace=workspace,
        name="batch key splits",
        conditions=[{"type": "api_key_in", "values": ["jk_batch"]}],
        action={
            "type": "split",
            "targets": [{"model": "gpt-4o-mini", "weight": 50}, {"model": "openrouter:gpt-4o", "weight": 50}],
        },
    )
    sample = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "x"}]}

    def preview(**extra):
        return manage_client.post(PREVIEW, {"request": sample, **extra}, format="json").json()

    assert preview()["rule_trace"][0]["matched"] is False
    assert preview()["candidates"][0]["model"] == "gpt-4.1"
    low = preview(api_key_prefix="jk_batch", roll=0.1)
    high = preview(api_key_prefix="jk_batch", roll=0.9)
    assert low["candidates"][0]["deployment"] == "openai/gpt-4o-mini"
    assert high["candidates"][0]["deployment"] == "openrouter/gpt-4o"
    assert upstreams.primary.served == 0 and upstreams.secondary.requests == []


def test_admin_form_validates_rules():
    from routing_rules.admin import RoutingRuleForm

    form = RoutingRuleForm(
        data={
            "name": "x",
            "priority": 1,
            "match": "all",
            "conditions": '[{"type": "text_regex", "pattern": "(a"}]',
            "action": '{"type": "block"}',
        }
    )
    assert not form.is_valid()
    assert "not a valid RE2" in str(form.errors)


def test_preview_accepts_a_responses_request(manage_client, catalog, upstreams):
    body = {"endpoint": "responses", "request": {"model": "auto:quality", "input": "hi", "stream": True}}
    out = manage_client.post(PREVIEW, body, format="json").json()
    assert out["outcome"] == "routed" and out["routing_mode"] == "quality"
    assert out["candidates"][0]["model"] in {"gpt-5", "o3"}
