"""Request logs: rows are queued on the hot path and written in batches by a
background thread, so a request never waits on the database for its log.
Nothing is lost on a clean shutdown: ``request_logs.stop()`` runs at ASGI
lifespan shutdown and at interpreter exit, and drains the queue.

The writer shares the GIL with the event loop, so its Python work per row
is kept small. On PostgreSQL a batch is one ``COPY`` (``CopyInsert``,
``gateway.bulkcopy``): ~16 us of CPU per row against ~160 us for a prepared
``INSERT``. Elsewhere it is one prepared ``INSERT`` run with ``executemany``
(``RowInsert``), values through each field's ``get_db_prep_save`` as
``bulk_create`` does. Either way the stored rows are those ``bulk_create``
would store, and a ``request_id`` already written is skipped.

A batch the database refuses for its content (not for a lost connection) is
split in halves until the row at fault is alone; that row is written with
its text cleaned (``clean_row``: NUL characters and lone surrogates, which
PostgreSQL refuses, removed), so one bad row never takes others with it.
"""

from __future__ import annotations

import atexit
import logging
import operator
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec
from django.conf import settings
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
    transaction,
)
from django.db.models import AutoField, JSONField
from django.db.models.constants import OnConflict

from gateway.bulkcopy import copy_rows
from gateway.live_feed import live_feed

logger = logging.getLogger("junction.logs")

_MISSING = object()


class RowInsert:
    """Log rows (dicts keyed by field attname, as ``CallContext.log_row``
    makes them) -> one ``INSERT`` per row that skips a duplicate ``request_id``."""

    def __init__(self, connection: Any) -> None:
        from gateway.models import RequestLog

        meta = RequestLog._meta
        ops = connection.ops
        self.fields = [f for f in meta.concrete_fields if not isinstance(f, AutoField)]
        columns = ", ".join(ops.quote_name(f.column) for f in self.fields)
        values = ", ".join(["%s"] * len(self.fields))
        suffix = ops.on_conflict_suffix_sql(self.fields, OnConflict.IGNORE, (), ())
        self.sql = (
            f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {ops.quote_name(meta.db_table)} "
            f"({columns}) VALUES ({values})" + (f" {suffix}" if suffix else "")
        )

    def params(self, row: dict[str, Any], connection: Any) -> tuple[Any, ...]:
        out = []
        for field in self.fields:
            value = row.get(field.attname, _MISSING)
            if value is _MISSING:
                value = field.get_default()
            out.append(field.get_db_prep_save(value, connection))
        return tuple(out)

    def run(self, rows: list[dict[str, Any]], connection: Any) -> None:
        params = [self.params(row, connection) for row in rows]
        with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
            cursor.executemany(self.sql, params)


class CopyInsert(RowInsert):
    """PostgreSQL: the batch in one ``COPY`` (``gateway.bulkcopy``), each row
    a list of plain values with the JSON fields encoded here. ``COPY`` cannot
    skip a duplicate, so a batch that meets a ``request_id`` already written
    (a batch retried after its commit was not confirmed) is rolled back and
    written by ``RowInsert``, which skips it."""

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.attnames = [f.attname for f in self.fields]
        self.json_fields = [i for i, f in enumerate(self.fields) if isinstance(f, JSONField)]
        # The log's defaults are constants (a JSON default is encoded per row).
        self.defaults = {f.attname: f.get_default() for f in self.fields}
        self.pick = operator.itemgetter(*self.attnames)

    def values(self, row: dict[str, Any]) -> list[Any]:
        out = list(self.pick(self.defaults | row))
        for i in self.json_fields:
            if out[i] is not None:  # None is SQL NULL, as the JSONField stores it
                out[i] = msgspec.json.encode(out[i]).decode()
        return out

    def run(self, rows: list[dict[str, Any]], connection: Any) -> None:
        from gateway.models import RequestLog

        values = [self.values(row) for row in rows]
        try:
            with transaction.atomic(using=connection.alias):
                copy_rows(connection, RequestLog, self.attnames, values)
        except IntegrityError:
            super().run(rows, connection)


def clean_text(value: str) -> str:
    """``value`` without what PostgreSQL text refuses: NUL characters, lone surrogates."""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def clean_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row with every text (JSON fields' too) cleaned by ``clean_text``."""
    return {key: _clean(value) for key, value in row.items()}


def request_logs_charged_set(*, charged: dict[str, int]) -> set[str]:
    """Correct logged ``charged_units`` to what the ledger took (a charge the
    balance could not cover in full). Returns the request ids whose row was
    found (a row may still be queued in the writer)."""
    from gateway.models import RequestLog

    return {
        request_id
        for request_id, units in charged.items()
        if RequestLog.objects.filter(request_id=request_id).update(charged_units=units)
    }


def insert_rows(rows: list[dict[str, Any]]) -> None:
    from gateway.models import RequestLog

    connection = connections[RequestLog.objects.db]
    # Building the statement costs less than one row.
    insert = CopyInsert if connection.vendor == "postgresql" else RowInsert
    insert(connection).run(rows, connection)


class RequestLogWriter:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._listeners: list[Callable[[list[dict[str, Any]]], None]] = []

    def on_written(self, listener: Callable[[list[dict[str, Any]]], None]) -> None:
        """Call ``listener`` with each batch once its rows are in, on the writer
        thread (an app's AppConfig.ready registers it: e.g. ``accounts`` writes
        its keys' ``last_used_at`` from the batch, not per request)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def _written(self, rows: list[dict[str, Any]]) -> None:
        live_feed.publish(rows)  # after the rows are in: the tail never shows a missing row
        for listener in self._listeners:
            try:
                listener(rows)
            except Exception:
                logger.exception("a listener of written request logs failed")

    def submit(self, row: dict[str, Any]) -> None:
        self._idle.clear()
        self._queue.put(row)
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="request-log-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        interval = settings.REQUEST_LOG_FLUSH_INTERVAL
        batch_size = settings.REQUEST_LOG_BATCH_SIZE
        while True:
            batch = self._take(batch_size, interval)
            if batch:
                self._write(batch)
            elif self._stopping.is_set():
                break
            if self._queue.empty():
                self._idle.set()
        connections.close_all()  # this thread's connections only

    def _take(self, batch_size: int, interval: float) -> list[dict[str, Any]]:
        """Wait for a row, let the batch gather for ``interval`` (unless it is
        full or the writer is stopping), then take it. The thread wakes once
        per batch, not per row: each wake-up takes the GIL from the event loop."""
        try:
            first = self._queue.get(timeout=interval)
        except queue.Empty:
            return []
        if self._queue.qsize() < batch_size - 1:
            self._stopping.wait(interval)
        batch = [first]
        while len(batch) < batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, rows: list[dict[str, Any]]) -> None:
        """Write the batch; retried when the database could not be reached, split
        (``_split``) when it refused the rows themselves."""
        close_old_connections()
        for attempt in range(3):
            try:
                insert_rows(rows)
            except (OperationalError, InterfaceError):
                logger.exception("writing %d request log rows failed (attempt %d)", len(rows), attempt + 1)
                close_old_connections()
                time.sleep(0.2 * (attempt + 1))
                continue
            except Exception:
                logger.warning("the database refused a batch of %d request log rows; splitting it", len(rows))
                close_old_connections()
                self._split(rows)
                return
            self._written(rows)
            return

    def _split(self, rows: list[dict[str, Any]]) -> None:
        """Write the rows in halves, down to the refused row, which is written cleaned."""
        if len(rows) == 1:
            cleaned = [clean_row(rows[0])]
            try:
                insert_rows(cleaned)
            except Exception:
                logger.exception("request log row %s could not be written", rows[0].get("request_id"))
                return
            self._written(cleaned)
            return
        middle = len(rows) // 2
        self._write(rows[:middle])
        self._write(rows[middle:])

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until every submitted row is written (tests, shutdown)."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout)
        # Rows submitted after the thread ended are written here.
        leftover: list[dict[str, Any]] = []
        while not self._queue.empty():
            leftover.append(self._queue.get_nowait())
        if leftover:
            self._write(leftover)
        self._idle.set()


request_logs = RequestLogWriter()
atexit.register(request_logs.stop)
