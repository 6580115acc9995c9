"""ASGI entry point: ``config.asgi:application``.

HTTP under /v1/, /api/v1/ and /v1/openai/ goes to the lean API app (``gateway.asgi``); everything else
(console, admin, management API) to Django's full stack; WebSockets to
Channels consumers. Lifespan startup starts the embedded beat when no Celery beat runs
(``config.embedded_beat``); shutdown stops it, finishes pending settlements, then drains the
request-log buffer.
"""

from __future__ import annotations

import asyncio
import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings
from django.core.asgi import get_asgi_application

django_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from billing import stages as billing_stages  # noqa: E402
from config.embedded_beat import EmbeddedBeat  # noqa: E402
from gateway.asgi import ApiApp, is_api_path  # noqa: E402
from gateway.http import clients  # noqa: E402
from gateway.logs import request_logs  # noqa: E402
from gateway.routing import websocket_urlpatterns  # noqa: E402

api_app = ApiApp()


async def http_app(scope, receive, send):
    if is_api_path(scope["path"]):
        return await api_app(scope, receive, send)
    return await django_app(scope, receive, send)


router = ProtocolTypeRouter(
    {
        "http": http_app,
        # The Channels stub wants a list of its check-only _ExtendedURLPattern (list is invariant).
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),  # type: ignore[arg-type]
    }
)


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        beat: EmbeddedBeat | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # What the process loaded to start (Django, the app, its
                # modules) lives as long as it does: keep it out of the cyclic
                # collector's full passes (a full pass over it stalled the
                # event loop ~70 ms at a time, bench/README.md).
                gc.collect()
                gc.freeze()
                if settings.EMBEDDED_BEAT:  # no broker: nothing else runs the beat schedule
                    beat = EmbeddedBeat.from_settings()
                    beat.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if beat is not None:
                    await beat.stop()
                # Settlements still in flight finish first, then the log buffer drains.
                await billing_stages.drain()
                await asyncio.to_thread(request_logs.stop)
                await clients.close_current()
                await send({"type": "lifespan.shutdown.complete"})
                return
    return await router(scope, receive, send)
