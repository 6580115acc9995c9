"""The console's live tail over a WebSocket (``/ws/console/logs/``).

Session-authenticated (Channels' ``AuthMiddlewareStack``) and scoped to the
person's current console workspace: an anonymous connection is closed with
4401; a connection asking for another workspace (``?workspace=<id>``) than
the current one, or from a person with no workspace, with 4403. Rows arrive
from ``gateway.live_feed`` after they are written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from console.permissions import resolve_console
from gateway.live_feed import group_name, live_feed

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def current_workspace_id(scope: Mapping[str, Any]) -> int | None:
    console = resolve_console(SimpleNamespace(user=scope["user"], session=scope["session"]))  # type: ignore[arg-type]
    return console.workspace.pk if console is not None else None


class LogTailConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        workspace_id = await database_sync_to_async(current_workspace_id)(self.scope)
        asked = parse_qs(self.scope.get("query_string", b"").decode()).get("workspace", [None])[0]
        if workspace_id is None or (asked is not None and asked != str(workspace_id)):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = group_name(workspace_id)
        live_feed.bind(asyncio.get_running_loop())
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "subscribed", "workspace": workspace_id})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The tail only listens; anything sent to it is ignored."""

    async def log_rows(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "rows", "rows": event["rows"]})
