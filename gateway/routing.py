"""WebSocket routes (Channels)."""

from django.urls import path

from gateway.consumers import LogTailConsumer

websocket_urlpatterns = [
    # django-stubs types path() for views only; Channels routes ASGI consumers through it.
    path("ws/console/logs/", LogTailConsumer.as_asgi()),  # type: ignore[arg-type]
]
