from __future__ import annotations

import time

from gateway.logs import request_logs
from gateway.models import RequestLog


def wait_for_logs(expected: int = 1, timeout: float = 5.0) -> list[RequestLog]:
    deadline = time.monotonic() + timeout
    while True:
        request_logs.flush()
        rows = list(RequestLog.objects.order_by("created_at", "id"))
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)
