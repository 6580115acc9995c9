"""Keys' ``last_used_at``, written off the hot path.

A /v1 call never touches the database for its key (``gateway/auth.py``
caches it), so the time a key was last used is taken from the request logs
as the log writer writes them: ``KeyUseRecorder`` listens to each written
batch (``request_logs.on_written``, registered in ``AccountsConfig.ready``)
and marks the batch's keys in one UPDATE, each key at most once per
``API_KEY_LAST_USED_SECONDS`` (60) per process. ``last_used_at`` may
therefore lag a key's newest call by that much.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.conf import settings

from accounts.services import api_keys_mark_used

FORGET_EVERY = 10_000  # keys remembered before the stale ones are dropped


class KeyUseRecorder:
    """Runs on the request-log writer's thread only (no lock needed)."""

    def __init__(self) -> None:
        self._marked: dict[int, float] = {}  # key id -> time.monotonic() of its last UPDATE

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        every = settings.API_KEY_LAST_USED_SECONDS
        now = time.monotonic()
        due: dict[int, datetime] = {}
        for row in rows:
            key_id = row.get("api_key_id")
            if key_id is None or now - self._marked.get(key_id, -every) < every:
                continue
            at = row["created_at"]
            if key_id not in due or at > due[key_id]:
                due[key_id] = at
        if not due:
            return
        api_keys_mark_used(used=due)
        for key_id in due:
            self._marked[key_id] = now
        if len(self._marked) > FORGET_EVERY:
            self._marked = {k: t for k, t in self._marked.items() if now - t < every}
