"""WebSocket routes (Channels)."""

from django.urls import path

from gateway.consumers import LogTailConsumer

websocket_urlpatterns = [
    path("ws/console/logs/", LogTailConsumer.as_asgi()),
]
