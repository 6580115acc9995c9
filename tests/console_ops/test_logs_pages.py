"""Console → Logs: list with filters and keyset pages, detail, tenant boundary, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.models import RequestLog
from tests.conftest import make_key

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def log(workspace, n: int, **fields) -> RequestLog:
    values = {
        "request_id": f"req_page_{workspace.pk}_{n:03d}",
        "created_at": T0 + timedelta(minutes=n),
        "workspace": workspace,
        "endpoint": "chat.completions",
        "model_used": "gpt-4o-mini",
        "provider": "openai",
        "status_code": 200,
    }
    values.update(fields)
    return RequestLog.objects.create(**values)


def test_anonymous_is_sent_to_login(anon_web):
    for url in ("/console/logs/", "/console/logs/req_x/"):
        resp = anon_web.get(url)
        assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_member_sees_logs_with_filters_and_pages(member_web, workspace):
    key = make_key(workspace, name="prod")
    for n in range(60):
        log(workspace, n, api_key_id=key.pk)
    log(workspace, 100, status_code=429, error_type="rate_limit_error", model_used="gpt-4o")
    first = member_web.get("/console/logs/")
    html = first.content.decode()
    assert first.status_code == 200 and "req_page_" in html and "Older" in html
    assert f"{key.prefix}…" in html and 'id="tail-status"' in html
    assert first.context["page"].next_cursor
    older = member_web.get("/console/logs/", {"cursor": first.context["page"].next_cursor})
    assert older.status_code == 200 and "Newest" in older.content.decode()
    assert len(first.context["rows"]) + len(older.context["rows"]) == 61
    filtered = member_web.get("/console/logs/", {"model": "gpt-4o", "status": "4xx"})
    assert [r[0].request_id for r in filtered.context["rows"]] == [f"req_page_{workspace.pk}_100"]
    assert 'id="tail-status"' not in filtered.content.decode()
    bad = member_web.get("/console/logs/", {"status": "teapot"})
    assert bad.status_code == 200 and "is not a status" in bad.content.decode()


def test_list_query_count_is_pinned(member_web, workspace, django_assert_num_queries):
    key = make_key(workspace)
    for n in range(30):
        log(workspace, n, api_key_id=key.pk)
    member_web.get("/console/logs/")  # warm the session
    # session, user, memberships, the workspace's keys (filter and row names), the page, balance (sidebar)
    with django_assert_num_queries(6):
        assert member_web.get("/console/logs/").status_code == 200


def test_detail_shows_cost_trace_attempts_firewall(member_web, workspace):
    row = log(
        workspace, 1, input_tokens=120, output_tokens=30, charged_units=1234, cost_units=1000, ttfb_ms=85,
        latency_ms=410, metadata={"app": "support"},
        extra={
            "rule_trace": [{"rule_id": 7, "name": "Support to Haiku", "priority": 10, "matched": True,
                            "action": {"type": "route", "model": "claude-haiku-4-5"}}],
            "attempts": [{"provider": "anthropic", "model": "claude-haiku-4-5", "key": "platform", "status": 502, "ms": 30, "error": "upstream_error"},
                         {"provider": "openai", "model": "gpt-4o-mini", "key": "platform", "status": "ok", "ms": 300}],
            "firewall": [{"rule_id": 3, "rule": "Cards", "policy_id": 1, "scope": "prompt", "action": "mask", "count": 2}],
            "routing_mode": "cost",
        },
    )  # fmt: skip
    html = member_web.get(f"/console/logs/{row.request_id}/").content.decode()
    for text in (
        "$0.1234",
        "85 ms",
        "410 ms",
        "Support to Haiku",
        "upstream_error",
        "Cards",
        "mask",
        "support",
        "routing_mode",
    ):
        assert text in html, text


@pytest.mark.parametrize("suffix", ["", "?request_id={rid}"])
def test_another_workspaces_request_is_404_and_never_listed(member_web, workspace, other_workspace, suffix):
    theirs = log(other_workspace, 1, error_message="SENTINEL-THEIRS")
    if suffix:
        resp = member_web.get("/console/logs/" + suffix.format(rid=theirs.request_id))
        assert resp.status_code == 200 and resp.context["rows"] == []
        assert b"SENTINEL" not in resp.content and b"No request matches" in resp.content
    else:
        resp = member_web.get(f"/console/logs/{theirs.request_id}/")
        assert resp.status_code == 404 and b"SENTINEL" not in resp.content
