"""Appending many rows at once with PostgreSQL's ``COPY``.

The background writers (request logs, ledger charges) share the GIL with
the event loop, so what they spend in Python per row is taken from the
requests being served. ``bulk_create`` and prepared ``INSERT``s cost
100-160 us of CPU per row; ``COPY`` with psycopg's C row formatting costs
~15 (bench/README.md). Other databases keep the ORM's inserts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models


def copy_rows(
    connection: Any, model: type[models.Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Append ``rows`` (plain Python values, in ``attnames`` order, ready for
    the database: JSON already encoded) to ``model``'s table in one ``COPY``.
    PostgreSQL only. A violated constraint raises Django's ``IntegrityError``,
    as an ``INSERT`` would; inside a transaction, nothing of the batch stays."""
    ops = connection.ops
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    columns = ", ".join(ops.quote_name(by_attname[name].column) for name in attnames)
    sql = f"COPY {ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
