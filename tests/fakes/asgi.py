"""What every fake upstream does the same way: record the request, answer JSON.
The wire formats themselves stay in each provider's fake."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    query: str = ""
    raw: bytes = b""  # the body as sent (a multipart body is not decoded into ``body``)


async def read_request(scope: dict[str, Any], receive: Any) -> Recorded:
    raw = b""
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    multipart = headers.get("content-type", "").startswith("multipart/")
    return Recorded(
        path=scope["path"],
        headers=headers,
        body={} if multipart else json.loads(raw or b"{}"),
        query=scope.get("query_string", b"").decode(),
        raw=raw,
    )


async def send_json(
    send: Any, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def words(text: str) -> list[str]:
    """A reply cut into word-sized deltas that join back to the exact text."""
    parts = text.split(" ")
    return [w + (" " if i < len(parts) - 1 else "") for i, w in enumerate(parts)]
