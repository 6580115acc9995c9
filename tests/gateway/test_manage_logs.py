"""/api/manage/logs: filters, keyset pagination, one row by request_id, the tenant boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiKey
from gateway.models import RequestLog
from gateway.selectors import Cursor, LogFilters, StatusFilter, request_log_page
from tests.conftest import make_key

LOGS = "/api/manage/logs/"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def log(workspace, n: int, **fields) -> RequestLog:
    values = {
        "request_id": f"req_{workspace.pk}_{n:04d}",
        "created_at": T0 + timedelta(minutes=n),
        "workspace": workspace,
        "endpoint": "chat.completions",
        "model_requested": "gpt-4o-mini",
        "model_used": "gpt-4o-mini",
        "provider": "openai",
        "status_code": 200,
    }
    values.update(fields)
    return RequestLog.objects.create(**values)


def ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.content
    return [row["request_id"] for row in resp.json()["data"]]


def test_pages_walk_every_row_newest_first_without_repeats(manage_client, workspace):
    rows = [log(workspace, n) for n in range(7)]
    # Two rows in the same microsecond: the id breaks the tie.
    log(workspace, 99, created_at=rows[3].created_at)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = manage_client.get(LOGS, params).json()
        seen += [r["request_id"] for r in body["data"]]
        cursor = body["next_cursor"]
        assert body["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert len(seen) == 8 and len(set(seen)) == 8
    assert seen[0] == rows[6].request_id and seen[-1] == rows[0].request_id


def test_page_query_has_no_offset_and_no_count(workspace):
    for n in range(5):
        log(workspace, n)
    first = request_log_page(workspace_id=workspace.pk, limit=2)
    with CaptureQueriesContext(connection) as queries:
        request_log_page(workspace_id=workspace.pk, limit=2, cursor=first.next_cursor)
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql and "COUNT(" not in sql and len(queries.captured_queries) == 1


def test_each_filter(manage_client, workspace):
    key = make_key(workspace)
    log(workspace, 1, api_key_id=key.pk, metadata={"app": "support"})
    log(workspace, 2, model_used="claude-haiku-4-5", provider="anthropic", stream=True)
    log(workspace, 3, status_code=429, error_type="rate_limit_error")
    log(workspace, 4, status_code=502, error_type="upstream_error", created_at=T0 + timedelta(days=2))
    log(workspace, 5, model_used="", model_requested="nope", status_code=404, error_type="model_not_found")
    r = lambda n: f"req_{workspace.pk}_{n:04d}"  # noqa: E731
    cases = {
        "key": ({"key": key.prefix}, [r(1)]),
        "model": ({"model": "claude-haiku-4-5"}, [r(2)]),
        "model asked for, never served": ({"model": "nope"}, [r(5)]),
        "provider": ({"provider": "anthropic"}, [r(2)]),
        "status code": ({"status": "429"}, [r(3)]),
        "status class": ({"status": "5xx"}, [r(4)]),
        "errors": ({"status": "error"}, [r(4), r(5), r(3)]),
        "error type": ({"error_type": "upstream_error"}, [r(4)]),
        "stream": ({"stream": "true"}, [r(2)]),
        "metadata key": ({"metadata_key": "app"}, [r(1)]),
        "metadata value": ({"metadata_key": "app", "metadata_value": "support"}, [r(1)]),
        "metadata other value": ({"metadata_key": "app", "metadata_value": "sales"}, []),
        "request id": ({"request_id": r(3)}, [r(3)]),
        "time range": (
            {"since": (T0 + timedelta(days=1)).isoformat(), "until": (T0 + timedelta(days=3)).isoformat()},
            [r(4)],
        ),
        "model + status + day": (
            {"model": "gpt-4o-mini", "status": "429", "since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z"},
            [r(3)],
        ),
    }  # fmt: skip
    for name, (params, expected) in cases.items():
        assert ids(manage_client.get(LOGS, params)) == expected, name


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "teapot"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"metadata_value": "x"}, "metadata_value"),
        ({"limit": "1000"}, "limit"),
    ],
)
def test_bad_parameters_are_400_naming_them(manage_client, workspace, params, field):
    resp = manage_client.get(LOGS, params)
    assert resp.status_code == 400 and field in resp.json()["error"]["detail"]


def test_detail_by_request_id_with_or_without_slash(manage_client, workspace, api_key):
    row = log(
        workspace, 1, api_key_id=api_key.pk, input_tokens=12, output_tokens=3, charged_units=37, ttfb_ms=80,
        latency_ms=120, extra={"rule_trace": [{"rule_id": 1, "matched": True}], "attempts": [{"provider": "openai"}]},
    )  # fmt: skip
    for url in (f"{LOGS}{row.request_id}/", f"{LOGS}{row.request_id}"):
        body = manage_client.get(url).json()
        assert body["request_id"] == row.request_id and body["key"] == api_key.prefix
        assert (body["charged_units"], body["ttfb_ms"], body["latency_ms"]) == (37, 80, 120)
        assert body["extra"]["rule_trace"][0]["rule_id"] == 1


def test_another_workspaces_logs_are_invisible(manage_client, workspace, other_workspace):
    mine = log(workspace, 1)
    theirs = log(other_workspace, 2, metadata={"secret": "SENTINEL-123"})
    listing = manage_client.get(LOGS)
    assert ids(listing) == [mine.request_id] and b"SENTINEL" not in listing.content
    assert ids(manage_client.get(LOGS, {"request_id": theirs.request_id})) == []
    detail = manage_client.get(f"{LOGS}{theirs.request_id}/")
    assert detail.status_code == 404 and b"SENTINEL" not in detail.content
    # A key prefix of another workspace filters to nothing, not to their rows.
    other_key = ApiKey.objects.create(workspace=other_workspace, prefix="jk_other", key_hash="x" * 64)
    log(other_workspace, 3, api_key=other_key)
    assert ids(manage_client.get(LOGS, {"key": "jk_other"})) == []


def test_member_session_reads_logs_anonymous_cannot(workspace, client_factory=None):
    from rest_framework.test import APIClient

    log(workspace, 1)
    member = workspace.memberships.first().user
    web = APIClient()
    assert web.get(LOGS).status_code in (401, 403)
    web.force_login(member)
    assert len(ids(web.get(LOGS))) == 1


def test_status_filter_parse():
    assert StatusFilter.parse("4xx") == StatusFilter(400, 499)
    assert StatusFilter.parse("error") == StatusFilter(400, 599)
    with pytest.raises(ValueError):
        StatusFilter.parse("700")
    cursor = Cursor(T0, 5)
    assert Cursor.decode(cursor.encode()) == cursor
    assert LogFilters().is_empty() and not LogFilters(model="x").is_empty()
