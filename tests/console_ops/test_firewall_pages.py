"""Console → Firewall: policy editor, test box (matches, masked text, decision),
audit log; roles and the tenant boundary."""

from __future__ import annotations

from firewall.models import AuditEntry, Policy
from firewall.rules import RuleData
from firewall.services import Actor, policy_create

CARD = "4111 1111 1111 1111"


def post_policy(web, url="/console/firewall/new/", **overrides):
    data = {
        "name": "PII",
        "description": "",
        "enabled": "on",
        "order": "0",
        "rule-TOTAL_FORMS": "2",
        "rule-INITIAL_FORMS": "0",
        "rule-0-name": "Cards",
        "rule-0-matcher": "detector",
        "rule-0-detector": "payment_card",
        "rule-0-scopes": ["prompt", "response"],
        "rule-0-action": "mask",
        "rule-0-label": "CARD",
        "rule-0-enabled": "on",
        "rule-1-name": "Codename",
        "rule-1-matcher": "substring",
        "rule-1-pattern": "Project Falcon",
        "rule-1-ignore_case": "on",
        "rule-1-scopes": ["prompt"],
        "rule-1-action": "block",
        "rule-1-enabled": "on",
    }
    data.update(overrides)
    return web.post(url, data)


def test_create_policy_then_test_box_masks_a_card_and_audit_records_it(owner_web, workspace):
    resp = post_policy(owner_web)
    assert resp.status_code == 302, resp.content.decode()[:3000]
    policy = Policy.objects.get(workspace=workspace)
    assert [(r.name, r.matcher, r.action) for r in policy.rules.all()] == [
        ("Cards", "detector", "mask"),
        ("Codename", "substring", "block"),
    ]
    result = owner_web.post(
        "/console/firewall/test/", {"text": f"pay with {CARD} please", "scope": "prompt", "policy": ""},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    html = result.content.decode()
    assert "mask" in html and CARD not in html and "Cards" in html and "CARD" in html
    blocked = owner_web.post("/console/firewall/test/", {"text": "about project falcon", "scope": "prompt"})
    assert "by Codename" in blocked.content.decode()
    page = owner_web.get("/console/firewall/").content.decode()
    assert "policy.create" in page and "PII" in page
    assert AuditEntry.objects.filter(workspace=workspace, action="policy.create").count() == 1


def test_edit_and_delete_are_audited(owner_web, workspace):
    policy = policy_create(
        workspace=workspace, actor=Actor(label="x"), name="Old",
        rules=[RuleData(name="Emails", matcher="detector", detector="email", scopes=["prompt"], action="warn")],
    )  # fmt: skip
    edit = owner_web.get(f"/console/firewall/{policy.pk}/")
    assert edit.status_code == 200 and "Emails" in edit.content.decode()
    assert post_policy(owner_web, url=f"/console/firewall/{policy.pk}/", name="New").status_code == 302
    policy.refresh_from_db()
    assert policy.name == "New" and policy.rules.count() == 2
    owner_web.post(f"/console/firewall/{policy.pk}/delete/")
    assert not Policy.objects.exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "policy.create",
        "policy.update",
        "policy.delete",
    ]


def test_invalid_regex_is_shown(owner_web, workspace):
    resp = post_policy(owner_web, **{"rule-1-matcher": "regex", "rule-1-pattern": "(unclosed"})
    assert resp.status_code == 200 and "rules[1]" in resp.content.decode()
    assert not Policy.objects.exists()


def test_members_are_refused_and_other_workspaces_policies_are_404(member_web, owner_web, other_workspace):
    theirs = policy_create(workspace=other_workspace, actor=Actor(label="x"), name="SENTINEL")
    for url in ("/console/firewall/", "/console/firewall/new/", f"/console/firewall/{theirs.pk}/"):
        assert member_web.get(url).status_code == 403
    assert member_web.post("/console/firewall/test/", {"text": "x", "scope": "prompt"}).status_code == 403
    assert owner_web.get(f"/console/firewall/{theirs.pk}/").status_code == 404
    assert owner_web.post(f"/console/firewall/{theirs.pk}/delete/").status_code == 404
    page = owner_web.get("/console/firewall/")
    assert b"SENTINEL" not in page.content
    # Testing against another workspace's policy id runs nothing of theirs.
    probe = owner_web.post("/console/firewall/test/", {"text": "x", "scope": "prompt", "policy": theirs.pk})
    assert b"SENTINEL" not in probe.content
    assert Policy.objects.filter(pk=theirs.pk).exists()


def test_anonymous_goes_to_login(anon_web):
    resp = anon_web.get("/console/firewall/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_list_query_count_is_pinned(owner_web, workspace, django_assert_num_queries):
    for n in range(5):
        policy_create(
            workspace=workspace, actor=Actor(label="x"), name=f"p{n}",
            rules=[RuleData(name="e", matcher="detector", detector="email", scopes=["prompt"], action="warn")],
        )  # fmt: skip
    owner_web.get("/console/firewall/")
    # session, user, memberships, policies, their rules, audit, balance
    with django_assert_num_queries(7):
        assert owner_web.get("/console/firewall/").status_code == 200


def test_the_untouched_extra_rule_row_is_ignored(owner_web, workspace):
    blank = {"rule-TOTAL_FORMS": "3", "rule-2-matcher": "detector", "rule-2-action": "mask",
             "rule-2-scopes": ["prompt"], "rule-2-enabled": "on"}  # fmt: skip
    assert post_policy(owner_web, **blank).status_code == 302
    assert Policy.objects.get(workspace=workspace).rules.count() == 2
