"""Which threads a /v1 request used a database connection on.

Django's ``request_started`` / ``request_finished`` receivers
(``close_old_connections`` above all) act on the connections of the thread
they run in, so Django sends them through ``sync_to_async``: one hop to
asgiref's shared thread at each end of every request. A /v1 request almost
never touches the database there (the key, catalog and routing caches are
warm), so ``gateway.asgi`` runs the receivers on the event loop, where they
find no connection and cost nothing, unless this module saw the request use
a connection on some thread; then ``request_finished`` goes through
``sync_to_async`` exactly as Django sends it.

A request is tracked by putting a set in ``_used_on`` for the duration of
the call; asgiref runs ``sync_to_async`` functions in a copy of the caller's
context, so the set is the same object on the worker thread. Every
connection gets an execute wrapper (installed when it connects) that adds the
current thread to the set, and opening a connection adds it too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

_used_on: ContextVar[set[int] | None] = ContextVar("junction_db_used_on", default=None)


def track() -> tuple[set[int], Any]:
    """Start recording this context's database use: (the set of thread ids, reset token)."""
    used: set[int] = set()
    return used, _used_on.set(used)


def untrack(token: Any) -> None:
    _used_on.reset(token)


def note_use() -> None:
    used = _used_on.get()
    if used is not None:
        used.add(threading.get_ident())


def _mark_execute(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    note_use()
    return execute(sql, params, many, context)


def watch(connection: Any) -> None:
    # First in the list: ``connection.execute_wrapper()`` pops the last one on exit.
    if _mark_execute not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _mark_execute)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    note_use()
    watch(connection)


def install() -> None:
    """Called from ``GatewayConfig.ready`` (before any request)."""
    connection_created.connect(_on_connection_created, dispatch_uid="junction.dbuse")
    for conn in connections.all(initialized_only=True):  # this thread's, if any are open already
        watch(conn)
