"""The live feed: each request-log batch, once written, is published to the
workspace's channel-layer group, where the console's live tail
(``gateway.consumers.LogTailConsumer``) listens. The tail therefore never
shows a request the database lacks.

Published from the log writer's thread. With the Redis channel layer
(production) the thread sends on an event loop of its own, and a browser
connected to any process receives it. With the in-memory layer (embedded)
only this process's subscribers exist, and their queues belong to the
server's event loop: the send is handed to that loop (bound when the first
subscriber connects), never run from the writer's thread.

A message carries at most ``MAX_ROWS`` rows (the newest) per workspace and
batch: a tail shows what is happening, it is not the log (the Logs page is).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer

from gateway.redis_clients import REDIS_ERRORS, link

logger = logging.getLogger("junction.live_feed")

MAX_ROWS = 50
MESSAGE_TYPE = "log.rows"


def group_name(workspace_id: int) -> str:
    return f"console.logs.{workspace_id}"


def feed_row(row: dict[str, Any]) -> dict[str, Any]:
    """What the tail shows of a log row (dict of field attnames): no prompt,
    metadata or error text, only what the Logs list shows."""
    created = row.get("created_at")
    return {
        "request_id": row.get("request_id"),
        "created_at": created.isoformat() if created is not None else None,
        "endpoint": row.get("endpoint", ""),
        "model": row.get("model_used") or row.get("model_requested") or "",
        "provider": row.get("provider", ""),
        "status_code": row.get("status_code"),
        "error_type": row.get("error_type", ""),
        "stream": bool(row.get("stream", False)),
        "input_tokens": row.get("input_tokens", 0),
        "output_tokens": row.get("output_tokens", 0),
        "charged_units": row.get("charged_units", 0),
        "latency_ms": row.get("latency_ms", 0),
        "ttfb_ms": row.get("ttfb_ms"),
    }


def messages_for(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Group -> message, one per workspace in the batch, oldest row first."""
    by_workspace: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        workspace_id = row.get("workspace_id")
        if workspace_id:
            by_workspace.setdefault(workspace_id, []).append(row)
    return {
        group_name(ws): {"type": MESSAGE_TYPE, "rows": [feed_row(r) for r in ws_rows[-MAX_ROWS:]]}
        for ws, ws_rows in by_workspace.items()
    }


class LiveFeed:
    def __init__(self) -> None:
        self._subscriber_loop: asyncio.AbstractEventLoop | None = None
        self._thread_loops = threading.local()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop in-memory subscriptions live on (the server's)."""
        self._subscriber_loop = loop

    def publish(self, rows: list[dict[str, Any]]) -> None:
        """Never raises: a feed that fails must not fail the log writer."""
        try:
            layer = get_channel_layer()
            if layer is None:
                return
            messages = messages_for(rows)
            if isinstance(layer, InMemoryChannelLayer):
                self._publish_in_memory(layer, messages)
            elif messages and link.usable():  # Redis down: the tail misses these rows, the log has them
                self._own_loop().run_until_complete(
                    asyncio.gather(*(layer.group_send(g, m) for g, m in messages.items()))
                )
        except REDIS_ERRORS as exc:
            link.failed("live_feed", exc)
        except Exception:
            logger.exception("publishing %d log rows to the live feed failed", len(rows))

    def _publish_in_memory(self, layer: InMemoryChannelLayer, messages: dict[str, dict[str, Any]]) -> None:
        loop = self._subscriber_loop
        if loop is None or loop.is_closed():
            return  # nobody in this process ever subscribed
        for group, message in messages.items():
            if layer.groups.get(group):
                asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)

    def _own_loop(self) -> asyncio.AbstractEventLoop:
        loop = getattr(self._thread_loops, "loop", None)
        if loop is None or loop.is_closed():
            loop = self._thread_loops.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)  # channels_redis asks for the thread's loop
        return loop


live_feed = LiveFeed()
