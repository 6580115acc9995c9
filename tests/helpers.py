from __future__ import annotations

import time

from gateway.logs import request_logs
from gateway.models import RequestLog


def wait_for_logs(expected: int = 1, timeout: float = 5.0, request_id: str | None = None) -> list[RequestLog]:
    """Rows once ``expected`` have landed; with ``request_id``, only that call's
    row (a previous test's stream may still be queueing its own)."""
    deadline = time.monotonic() + timeout
    while True:
        request_logs.flush()
        rows = RequestLog.objects.order_by("created_at", "id")
        if request_id is not None:
            rows = rows.filter(request_id=request_id)
        rows = list(rows)
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)
