"""The one place upstream HTTP happens: a pooled async client per event loop."""

from __future__ import annotations

import asyncio
import weakref

import httpx
from django.conf import settings


def upstream_timeout() -> httpx.Timeout:
    """Read per request, so a settings change applies without a new client."""
    return httpx.Timeout(
        connect=settings.UPSTREAM_CONNECT_TIMEOUT,
        read=settings.UPSTREAM_READ_TIMEOUT,
        write=settings.UPSTREAM_READ_TIMEOUT,
        pool=settings.UPSTREAM_CONNECT_TIMEOUT,
    )


def _new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=upstream_timeout(),
        limits=httpx.Limits(
            max_connections=settings.UPSTREAM_MAX_CONNECTIONS,
            max_keepalive_connections=settings.UPSTREAM_MAX_CONNECTIONS,
            keepalive_expiry=60,
        ),
        follow_redirects=False,
        trust_env=False,
    )


class _Clients:
    """Clients are bound to the loop that made them; a process normally has one."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._by_loop.get(loop)
        if client is None or client.is_closed:
            client = _new_client()
            self._by_loop[loop] = client
        return client

    async def close_current(self) -> None:
        client = self._by_loop.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


clients = _Clients()


def upstream_client() -> httpx.AsyncClient:
    return clients.get()
