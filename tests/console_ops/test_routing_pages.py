"""Console → Routing rules: forms per condition/action type, toggle, reorder,
delete, the Preview decision drawer; roles and the tenant boundary."""

from __future__ import annotations

import pytest

from routing_rules.models import RoutingRule
from routing_rules.services import routing_rule_create

NEW = "/console/routing-rules/new/"


def post_rule(web, url=NEW, **overrides):
    data = {
        "name": "Support to Haiku",
        "description": "",
        "match": "all",
        "enabled": "on",
        "cond-TOTAL_FORMS": "2",
        "cond-INITIAL_FORMS": "0",
        "cond-0-type": "metadata_equals",
        "cond-0-key": "app",
        "cond-0-value": "support",
        "cond-1-type": "text_regex",
        "cond-1-pattern": "(?i)refund|invoice",
        "cond-1-case_sensitive": "on",
        "action-type": "route",
        "action-model": "anthropic:claude-haiku-4-5",
        "action-fallbacks": "gpt-4o-mini, gpt-4o",
    }
    data.update(overrides)
    return web.post(url, data)


def test_create_a_rule_through_the_forms(owner_web, workspace):
    resp = post_rule(owner_web)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    rule = RoutingRule.objects.get(workspace=workspace)
    assert rule.conditions == [
        {"type": "metadata_equals", "key": "app", "value": "support"},
        {"type": "text_regex", "pattern": "(?i)refund|invoice", "case_sensitive": True},
    ]
    assert rule.action == {
        "type": "route",
        "model": "anthropic:claude-haiku-4-5",
        "fallbacks": ["gpt-4o-mini", "gpt-4o"],
    }
    page = owner_web.get("/console/routing-rules/").content.decode()
    assert "Support to Haiku" in page and "metadata.app = “support”" in page


@pytest.mark.parametrize(
    ("overrides", "action"),
    [
        ({"action-type": "split", "action-targets": "gpt-4o-mini, 80\nclaude-haiku-4-5, 20"},
         {"type": "split", "targets": [{"model": "gpt-4o-mini", "weight": 80}, {"model": "claude-haiku-4-5", "weight": 20}]}),
        ({"action-type": "fallbacks", "action-fallbacks": "gpt-4o"}, {"type": "fallbacks", "models": ["gpt-4o"]}),
        ({"action-type": "block", "action-message": "No refunds here."}, {"type": "block", "message": "No refunds here."}),
    ],
)  # fmt: skip
def test_each_action_type(owner_web, workspace, overrides, action):
    assert post_rule(owner_web, **overrides).status_code == 302
    assert RoutingRule.objects.get(workspace=workspace).action == action


def test_an_invalid_rule_names_the_field(owner_web, workspace):
    resp = post_rule(owner_web, **{"cond-1-pattern": "(unclosed"})
    assert resp.status_code == 200 and "conditions[1].pattern" in resp.content.decode()
    assert not RoutingRule.objects.exists()


def test_edit_toggle_reorder_delete(owner_web, workspace):
    a = routing_rule_create(workspace=workspace, name="A", conditions=[], action={"type": "block"})
    b = routing_rule_create(workspace=workspace, name="B", conditions=[], action={"type": "block"})
    edit = owner_web.get(f"/console/routing-rules/{a.pk}/")
    assert edit.status_code == 200 and "Advanced: the rule as JSON" in edit.content.decode()
    assert (
        post_rule(
            owner_web, url=f"/console/routing-rules/{a.pk}/", name="A2", **{"cond-TOTAL_FORMS": "0"}
        ).status_code
        == 302
    )
    a.refresh_from_db()
    assert a.name == "A2" and a.conditions == []
    owner_web.post(f"/console/routing-rules/{a.pk}/toggle/")
    a.refresh_from_db()
    assert a.enabled is False
    owner_web.post(f"/console/routing-rules/{b.pk}/move/", {"direction": "up"})
    assert list(
        RoutingRule.objects.filter(workspace=workspace).order_by("priority").values_list("name", flat=True)
    ) == ["B", "A2"]
    owner_web.post(f"/console/routing-rules/{b.pk}/delete/")
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["A2"]


def test_preview_drawer_shows_decision_and_trace(owner_web, workspace, catalog, fake_openai):
    routing_rule_create(
        workspace=workspace, name="Support rule", conditions=[{"type": "metadata_equals", "key": "app", "value": "support"}],
        action={"type": "route", "model": "gpt-4o"},
    )  # fmt: skip
    data = {"model": "gpt-4o-mini", "message": "hi", "metadata": "app=support", "mode": ""}
    fragment = owner_web.post("/console/routing-rules/preview/", data, HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert (
        fragment.status_code == 200
        and "routed" in html
        and "Support rule" in html
        and "openai/gpt-4o" in html
    )
    assert "<html" not in html  # an HTMX fragment
    full = owner_web.post("/console/routing-rules/preview/", {**data, "metadata": "bad line"})
    assert full.status_code == 200 and "write key=value" in full.content.decode()


def test_members_are_refused_and_other_workspaces_rules_are_404(member_web, owner_web, other_workspace):
    theirs = routing_rule_create(
        workspace=other_workspace, name="SENTINEL", conditions=[], action={"type": "block"}
    )
    for url in ("/console/routing-rules/", NEW, f"/console/routing-rules/{theirs.pk}/"):
        assert member_web.get(url).status_code == 403
    assert owner_web.get(f"/console/routing-rules/{theirs.pk}/").status_code == 404
    for action in ("toggle", "move", "delete"):
        assert owner_web.post(f"/console/routing-rules/{theirs.pk}/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.enabled


def test_anonymous_goes_to_login(anon_web):
    resp = anon_web.get("/console/routing-rules/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_list_query_count_is_pinned(owner_web, workspace, django_assert_num_queries):
    for n in range(10):
        routing_rule_create(workspace=workspace, name=f"r{n}", conditions=[], action={"type": "block"})
    owner_web.get("/console/routing-rules/")
    with django_assert_num_queries(5):  # session, user, memberships, rules, balance
        assert owner_web.get("/console/routing-rules/").status_code == 200


def test_the_untouched_extra_condition_row_is_ignored(owner_web, workspace):
    extra = {"cond-TOTAL_FORMS": "3", "cond-2-type": "text_contains"}  # what the blank row posts
    assert post_rule(owner_web, **extra).status_code == 302
    assert len(RoutingRule.objects.get(workspace=workspace).conditions) == 2
