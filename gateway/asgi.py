"""The ASGI handler for the /v1 surface.

A Django ``ASGIHandler`` with no middleware (each non-async middleware would
cost a thread hop per request), no per-request thread (see ``__call__``), and
a body-size guard that answers 413 before reading an oversized body.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

from gateway.context import CallContext
from gateway.dialects import chat, messages
from gateway.errors import ErrorType, GatewayError

API_PREFIXES = ("/v1/", "/api/v1/")


class BodyTooLarge(Exception):
    pass


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def dialect_for_path(path: str) -> Any:
    if path.removeprefix("/api").startswith("/v1/messages"):
        return messages
    return chat


class ApiASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        # Django wraps every request in a ThreadSensitiveContext, which gives
        # the request its own executor: two new OS threads per request (the
        # worker and the one that joins it), and the event loop blocks in
        # Thread.start until each is running. /v1 views are async and their few
        # sync calls (key and catalog cache misses) are rare, so they share
        # asgiref's one process-wide thread instead (bench/README.md has the numbers).
        if scope["type"] != "http":
            raise ValueError(f"The /v1 handler serves only HTTP, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send):  # type: ignore[no-untyped-def]
        limit = settings.JUNCTION_MAX_BODY_BYTES
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    return await self._too_large(scope, send, limit)
        received = 0

        async def guarded_receive():  # type: ignore[no-untyped-def]
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        try:
            return await super().handle(scope, guarded_receive, send)
        except BodyTooLarge:
            return await self._too_large(scope, send, limit)

    async def _too_large(self, scope, send, limit: int) -> None:  # type: ignore[no-untyped-def]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        client = scope.get("client")
        ctx = CallContext(
            endpoint=scope.get("path", ""),
            dialect=dialect_for_path(scope.get("path", "")),
            headers=headers,
            client_ip=client[0] if client else None,
        )
        err = GatewayError(
            ErrorType.REQUEST_TOO_LARGE,
            f"The request body exceeds the limit of {limit} bytes.",
            code="request_too_large",
        )
        ctx.fail(err)
        ctx.finish()
        body = ctx.dialect.encode_error(err, ctx.request_id)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", ctx.request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
