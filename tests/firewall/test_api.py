"""Management API: policies CRUD, validation, the dry run, audit, roles, and
tenant isolation (status AND no sentinel leaking)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from firewall.models import AuditEntry, Policy
from firewall.rules import RuleData
from firewall.services import Actor, policy_create
from tests.factories import MembershipFactory

URL = "/api/manage/firewall/policies/"
TEST_URL = "/api/manage/firewall/test"
SENTINEL = "SENTINEL-7f3a-do-not-leak"

pytestmark = pytest.mark.django_db


def email_rule(**overrides):
    return {
        "name": "emails",
        "matcher": "detector",
        "detector": "email",
        "scopes": ["prompt"],
        "action": "mask",
    } | overrides


def create(api, **body):
    payload = {"name": "PII", "rules": [email_rule()]} | body
    return api.post(URL, payload, format="json")


def test_create_list_get_policy_with_rules(manage_client, admin_key):
    resp = create(manage_client, rules=[email_rule(), {
        "name": "codename", "matcher": "substring", "pattern": "Falcon", "ignore_case": True,
        "scopes": ["prompt", "response"], "action": "block", "order": 2,
    }])  # fmt: skip
    assert resp.status_code == 201, resp.data
    policy = resp.data
    assert policy["name"] == "PII" and [r["name"] for r in policy["rules"]] == ["emails", "codename"]
    assert policy["rules"][1]["scopes"] == ["prompt", "response"]
    listed = manage_client.get(URL).data
    assert [p["id"] for p in listed] == [policy["id"]]
    assert manage_client.get(f"{URL}{policy['id']}/").data["rules"][0]["detector"] == "email"
    (entry,) = AuditEntry.objects.all()
    assert entry.action == "policy.create" and entry.actor_label == f"api-key:{admin_key.prefix}"
    assert entry.after["rules"][1]["pattern"] == "Falcon" and entry.before is None


@pytest.mark.parametrize(
    ("rule", "param", "reason"),
    [
        ({"matcher": "regex", "pattern": "(unclosed"}, "rules[0].pattern", "missing )"),
        ({"matcher": "regex", "pattern": "(?<=a)b"}, "rules[0].pattern", "invalid perl operator"),
        ({"matcher": "regex", "pattern": ".*"}, "rules[0].pattern", "empty string"),
        ({"matcher": "regex", "pattern": r"\w{1000}" * 10}, "rules[0].pattern", "too complex"),
        ({"matcher": "substring", "pattern": ""}, "rules[0].pattern", "empty"),
        ({"matcher": "detector", "detector": ""}, "rules[0].detector", "unknown detector"),
    ],
)
def test_invalid_rules_are_refused_with_the_reason(manage_client, rule, param, reason):
    resp = create(manage_client, rules=[email_rule(**({"detector": ""} | rule))])
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["param"] == param and reason in error["message"].lower()
    assert not Policy.objects.exists()


def test_serializer_rejects_unknown_scope_and_action(manage_client):
    resp = create(manage_client, rules=[email_rule(scopes=["everything"], action="explode")])
    assert resp.status_code == 400
    detail = resp.json()["error"]["detail"]
    assert set(detail["rules"]["0"]) == {"scopes", "action"}


def test_put_replaces_rules_patch_changes_fields_delete_removes(manage_client):
    pid = create(manage_client).data["id"]
    resp = manage_client.put(
        f"{URL}{pid}/",
        {"name": "PII v2", "rules": [email_rule(name="phones", detector="phone", action="warn")]},
        format="json",
    )
    assert resp.status_code == 200 and [r["name"] for r in resp.data["rules"]] == ["phones"]
    resp = manage_client.patch(f"{URL}{pid}/", {"enabled": False}, format="json")
    assert resp.status_code == 200 and resp.data["enabled"] is False and len(resp.data["rules"]) == 1
    assert manage_client.delete(f"{URL}{pid}/").status_code == 204
    assert manage_client.get(f"{URL}{pid}/").status_code == 404
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["policy.create", "policy.update", "policy.update", "policy.delete"]
    update = AuditEntry.objects.filter(action="policy.update").order_by("id").first()
    assert update.before["name"] == "PII" and update.after["name"] == "PII v2"


def test_duplicate_policy_name_is_refused(manage_client):
    create(manage_client)
    resp = create(manage_client)
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "name"


def test_dry_run_returns_hits_and_masked_text_without_a_model_call(manage_client):
    pid = create(manage_client).data["id"]
    text = "Write to a@example.com and b@example.com, then a@example.com."
    resp = manage_client.post(TEST_URL, {"text": text, "policy_id": pid}, format="json")
    assert resp.status_code == 200
    body = resp.data
    assert body["masked_text"] == "Write to [EMAIL_1] and [EMAIL_2], then [EMAIL_1]."
    assert body["blocked"] is False
    assert [(h["rule"], h["scope"], h["action"], h["count"]) for h in body["hits"]] == [
        ("emails", "prompt", "mask", 3)
    ]
    assert "a@example.com" not in json.dumps(body["hits"])
    # Another scope: the rule does not apply.
    resp = manage_client.post(TEST_URL, {"text": text, "scope": "response"}, format="json")
    assert resp.data["hits"] == [] and resp.data["masked_text"] == text


def test_dry_run_with_unsaved_rules_and_block(manage_client):
    rules = [{"name": "no keys", "matcher": "detector", "detector": "aws_access_key", "scopes": ["response"],
              "action": "block"}]  # fmt: skip
    resp = manage_client.post(
        TEST_URL, {"text": "key AKIAIOSFODNN7EXAMPLE", "scope": "response", "rules": rules}, format="json"
    )
    assert resp.status_code == 200
    assert resp.data["blocked"] is True and resp.data["blocked_by"] == "no keys"
    assert resp.data["masked_text"] is None
    bad = [{"name": "x", "matcher": "regex", "pattern": "(", "scopes": ["prompt"], "action": "mask"}]
    resp = manage_client.post(TEST_URL, {"text": "x", "rules": bad}, format="json")
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "pattern"


def _member_client(workspace, role):
    membership = MembershipFactory(workspace=workspace, role=role)
    api = APIClient()
    api.force_authenticate(membership.user)
    return api, membership.user


def test_members_read_and_dry_run_but_only_owners_and_admins_write(workspace, manage_client):
    pid = create(manage_client).data["id"]
    member, _ = _member_client(workspace, Role.MEMBER)
    member.credentials(HTTP_X_JUNCTION_WORKSPACE=workspace.slug)
    assert member.get(URL).status_code == 200
    assert (
        member.post(TEST_URL, {"text": "a@example.com", "policy_id": pid}, format="json").status_code == 200
    )
    assert create(member, name="mine").status_code == 403
    assert member.patch(f"{URL}{pid}/", {"enabled": False}, format="json").status_code == 403
    assert member.delete(f"{URL}{pid}/").status_code == 403
    assert Policy.objects.get(pk=pid).enabled is True
    admin, user = _member_client(workspace, Role.ADMIN)
    admin.credentials(HTTP_X_JUNCTION_WORKSPACE=workspace.slug)
    assert create(admin, name="theirs").status_code == 201
    assert AuditEntry.objects.filter(policy_name="theirs").get().actor == user


def test_anonymous_is_refused():
    assert APIClient().get(URL).status_code in (401, 403)


def test_another_workspaces_policies_are_invisible_and_unchangeable(manage_client, other_workspace):
    theirs = policy_create(
        workspace=other_workspace,
        actor=Actor(label="someone"),
        name=SENTINEL,
        description=SENTINEL,
        rules=[
            RuleData(name=SENTINEL, matcher="substring", pattern=SENTINEL, scopes=["prompt"], action="block")
        ],
    )
    mine = create(manage_client).data["id"]
    url = f"{URL}{theirs.pk}/"

    listed = manage_client.get(URL)
    assert listed.status_code == 200 and [p["id"] for p in listed.data] == [mine]
    responses = [
        manage_client.get(url),
        manage_client.put(url, {"name": "taken over", "rules": []}, format="json"),
        manage_client.patch(url, {"enabled": False}, format="json"),
        manage_client.delete(url),
        manage_client.post(TEST_URL, {"text": SENTINEL, "policy_id": theirs.pk}, format="json"),
    ]
    for resp in responses:
        assert resp.status_code == 404
        assert SENTINEL not in resp.content.decode()
    # The workspace-wide dry run uses only this workspace's policies.
    resp = manage_client.post(TEST_URL, {"text": f"hello {SENTINEL}"}, format="json")
    assert resp.status_code == 200 and resp.data["hits"] == [] and resp.data["blocked"] is False
    assert SENTINEL not in manage_client.get("/api/manage/firewall/audit").content.decode()
    for resp in (listed, manage_client.get(f"{URL}{mine}/")):
        assert SENTINEL not in resp.content.decode()
    theirs.refresh_from_db()
    assert theirs.name == SENTINEL and theirs.enabled and theirs.rules.count() == 1


def test_schema_documents_the_firewall_api(manage_client):
    resp = manage_client.get("/api/manage/schema", HTTP_ACCEPT="application/json")
    assert resp.status_code == 200
    paths = json.loads(resp.content)["paths"]
    assert "/api/manage/firewall/policies/" in paths and "/api/manage/firewall/test/" in paths
    assert "/api/manage/firewall/policies/{policy_id}/" in paths
