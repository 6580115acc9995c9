"""The request-log writer's batch inserts (COPY on PostgreSQL, a prepared
INSERT elsewhere) store what bulk_create would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from gateway.logs import CopyInsert, RowInsert, insert_rows
from gateway.models import RequestLog

# Every way a batch can be written on this database (COPY only on PostgreSQL).
INSERTS = [RowInsert, CopyInsert] if connection.vendor == "postgresql" else [RowInsert]


@pytest.fixture(params=INSERTS, ids=lambda cls: cls.__name__)
def insert(request):
    return lambda rows: request.param(connection).run(rows, connection)


def row(request_id: str, **overrides) -> dict:
    values = {
        "request_id": request_id,
        "created_at": datetime(2026, 11, 22, 10, 30, 0, 123456, tzinfo=UTC),
        "workspace_id": None,
        "api_key_id": None,
        "endpoint": "chat.completions",
        "model_requested": "gpt-4o-mini",
        "model_used": "gpt-4o-mini",
        "provider": "openai",
        "status_code": 499,
        "error_type": "upstream_error",
        "error_message": "Upstream 'openai' failed mid-stream. 'quotes' \"too\"",
        "stream": True,
        "input_tokens": 12,
        "cached_input_tokens": 2,
        "output_tokens": 9,
        "reasoning_tokens": 1,
        "cost_units": 31,
        "charged_units": 37,
        "cost_estimated": True,
        "ttfb_ms": None,
        "latency_ms": 103,
        "metadata": {"team": "search", "n": [1, 2.5, None, "é"]},
        "user": "end-user-7",
        "client_ip": "2001:db8::7",
        "user_agent": "OpenAI/Python 1.0",
        "extra": {"attempts": [{"provider": "openai", "ok": False}], "client_disconnected": True},
    }
    values.update(overrides)
    return values


def stored(request_id: str) -> dict:
    values = RequestLog.objects.filter(request_id=request_id).values().get()
    values.pop("id")
    values.pop("request_id")
    return values


@pytest.mark.django_db
def test_batch_insert_stores_the_same_row_as_bulk_create(workspace, api_key, insert):
    for variant in (
        {},
        {"workspace_id": workspace.pk, "api_key_id": api_key.pk, "metadata": None, "client_ip": "127.0.0.1"},
        {"extra": {}, "ttfb_ms": 4, "error_type": "", "error_message": "", "status_code": 200},
    ):
        RequestLog.objects.bulk_create([RequestLog(**row("req_bulk", **variant))], ignore_conflicts=True)
        insert([row("req_prepared", **variant)])
        assert stored("req_prepared") == stored("req_bulk")
        assert stored("req_prepared")["method"] == "POST"  # a field the row leaves out gets its default
        RequestLog.objects.all().delete()


@pytest.mark.django_db
def test_batch_insert_skips_a_request_id_already_written(insert):
    insert([row("req_once", output_tokens=1)])
    insert([row("req_once", output_tokens=2), row("req_other"), row("req_third")])
    assert stored("req_once")["output_tokens"] == 1
    assert RequestLog.objects.count() == 3


@pytest.mark.django_db
def test_the_writer_copies_on_postgresql(monkeypatch):
    used = []
    for cls in (RowInsert, CopyInsert):
        monkeypatch.setattr(cls, "run", lambda self, rows, conn, cls=cls: used.append(cls))
    insert_rows([row("req_which")])
    assert used == [CopyInsert if connection.vendor == "postgresql" else RowInsert]


def test_writer_takes_what_gathered_in_one_batch_and_a_full_batch_at_once(settings, monkeypatch):
    from gateway import logs

    settings.REQUEST_LOG_FLUSH_INTERVAL = 0.3
    settings.REQUEST_LOG_BATCH_SIZE = 3
    batches: list[list[str]] = []
    monkeypatch.setattr(logs, "insert_rows", lambda rows: batches.append([r["request_id"] for r in rows]))
    writer = logs.RequestLogWriter()
    try:
        for i in range(2):
            writer.submit({"request_id": f"a{i}"})
        assert writer.flush(5)
        assert batches == [["a0", "a1"]]  # gathered for the interval, written once
        for i in range(7):
            writer.submit({"request_id": f"b{i}"})
        assert writer.flush(5)
        assert batches[1:] == [["b0", "b1", "b2"], ["b3", "b4", "b5"], ["b6"]]
    finally:
        writer.stop()


def _write_through_the_writer(rows: list[dict]) -> None:
    from gateway import logs

    writer = logs.RequestLogWriter()
    try:
        for r in rows:
            writer.submit(r)
        assert writer.flush(20)
    finally:
        writer.stop()


@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_refuses_does_not_take_its_batch_with_it(settings):
    settings.REQUEST_LOG_BATCH_SIZE = 100
    settings.REQUEST_LOG_FLUSH_INTERVAL = 0.2
    rows = [row(f"req_ok{i}") for i in range(9)]
    rows.insert(4, row("req_bad", extra={"unencodable": object()}))  # fails on any database
    _write_through_the_writer(rows)
    assert set(RequestLog.objects.values_list("request_id", flat=True)) == {f"req_ok{i}" for i in range(9)}


@pytest.mark.django_db(transaction=True)
def test_nul_characters_cost_no_row_and_the_row_is_written_cleaned(settings):
    """PostgreSQL refuses NUL in text and in jsonb, every database a lone
    surrogate: the whole batch was dropped."""
    settings.REQUEST_LOG_BATCH_SIZE = 100
    settings.REQUEST_LOG_FLUSH_INTERVAL = 0.2
    rows = [row(f"req_ok{i}") for i in range(19)]
    rows.insert(
        7,
        row(
            "req_nul",
            user="u\x00",
            model_requested="gpt\x00",
            metadata={"k\x00": "v\x00"},
            error_message="bad \ud800 surrogate",
        ),
    )
    _write_through_the_writer(rows)
    assert RequestLog.objects.count() == 20
    bad = RequestLog.objects.get(request_id="req_nul")
    assert bad.user == "u" and bad.model_requested == "gpt" and bad.metadata == {"k": "v"}
    assert bad.error_message == "bad \ufffd surrogate" or bad.error_message == "bad ? surrogate"
