"""The ASGI handler for the /v1 surface.

A Django ``ASGIHandler`` with no middleware (each non-async middleware would
cost a thread hop per request), no per-request thread (see ``__call__``), a
body-size guard that answers 413 before reading an oversized body, and its
own request cycle (``handle``): Django's costs a temporary file per body, two
tasks per request, a thread hop for each of ``request_started`` and
``request_finished``, and a trip through ``StreamingHttpResponse``'s
wrappers per streamed chunk. Relayed streams (``gateway.relay.RelayStream``)
write each upstream read straight to ASGI ``send``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from io import BytesIO
from typing import Any

from asgiref.sync import sync_to_async
from django import db
from django.conf import settings
from django.core import signals
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.dispatch import Signal
from django.http import HttpResponseBase
from django.urls import URLResolver, get_resolver, set_script_prefix

from files.multipart import RECEIVE_KEY, scope_is_multipart
from gateway import dbuse
from gateway.context import CallContext
from gateway.dialects import chat, messages
from gateway.errors import ErrorType, GatewayError
from gateway.relay import RelayStream

API_PREFIXES = ("/v1/", "/api/v1/")


class BodyTooLarge(Exception):
    pass


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def dialect_for_path(path: str) -> Any:
    if path.removeprefix("/api").startswith("/v1/messages"):
        return messages
    return chat


class DisconnectWatcher:
    """Cancels the request's task when the client disconnects, until ``stop``.

    One task per request (Django's cycle uses two and ``asyncio.wait``). The
    cancellation always lands inside the watched region: ``stop`` runs with no
    ``await`` between the region's end and it, so once the region is over the
    watcher can no longer fire."""

    __slots__ = ("_task", "_watch", "fired")

    def __init__(self, receive: Any) -> None:
        self.fired = False
        self._task: asyncio.Task[Any] | None = asyncio.current_task()
        self._watch = asyncio.get_running_loop().create_task(self._listen(receive))

    async def _listen(self, receive: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
        if self._task is not None:
            self.fired = True
            self._task.cancel()

    def stop(self) -> None:
        task, self._task = self._task, None
        self._watch.cancel()
        if self.fired and task is not None:
            task.uncancel()  # the cancellation was ours, and has been handled


# Django's receivers that act only on the calling thread's database
# connections. On the event loop's thread there are none (Django refuses sync
# database work there unless DJANGO_ALLOW_ASYNC_UNSAFE is set), so they are
# skipped when a signal is sent on the loop.
THREAD_CONNECTION_RECEIVERS = frozenset({db.reset_queries, db.close_old_connections})
# Read once: os.environ lookups cost more than the receivers they would skip.
SKIPPED_ON_LOOP = frozenset() if os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE") else THREAD_CONNECTION_RECEIVERS


def send_on_loop(signal: Signal, sender: Any, **kwargs: Any) -> bool:
    """``signal.send`` on the event loop; False (nothing sent) if a receiver
    is async, so the caller sends it as Django does."""
    try:
        sync_receivers, async_receivers = signal._live_receivers(sender)
    except Exception:  # a Django without the (private) split: let the caller send it
        return False
    if async_receivers:
        return False
    for receiver in sync_receivers:
        if receiver not in SKIPPED_ON_LOOP:
            receiver(signal=signal, sender=sender, **kwargs)
    return True


def cache_receivers(*signals_: Signal) -> None:
    """Let Django cache these signals' receivers per sender, as it does for
    signals made with ``use_caching=True``: ``connect`` and ``disconnect``
    clear the cache, a dead weak receiver bypasses it. Uncached, every send
    takes the signal's lock and walks its receivers (7 % of the event loop's
    GIL time at 64 streams, bench/README.md)."""
    for signal in signals_:
        if not signal.use_caching:
            signal.sender_receivers_cache.clear()
            signal.use_caching = True


@functools.lru_cache(maxsize=256)
def resolve_path(resolver: URLResolver, path: str) -> Any:
    """``resolver.resolve(path)``, remembered: the /v1 paths are few, and
    walking the URL patterns was ~5 % of the event loop's time at 64 streams.
    A path that resolves to nothing raises every time (nothing is cached)."""
    return resolver.resolve(path)


class ApiASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        cache_receivers(signals.request_started, signals.request_finished)

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)

    def resolve_request(self, request):  # type: ignore[no-untyped-def]
        if hasattr(request, "urlconf"):
            return super().resolve_request(request)
        match = request.resolver_match = resolve_path(get_resolver(), request.path_info)
        return match

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
        if scope_is_multipart(scope):
            # Uploads are not read into memory: the view streams them from
            # ``receive`` (files.multipart.receive_form).
            scope[RECEIVE_KEY] = receive
            body: bytes | None = b""
        else:
            try:
                body = await self._read_body(receive, limit)
            except BodyTooLarge:
                return await self._too_large(scope, send, limit)
        if body is None:
            return  # the client left before its request was complete
        used_db, token = dbuse.track()
        try:
            await self._cycle(scope, body, receive, send, used_db)
        finally:
            dbuse.untrack(token)

    async def _read_body(self, receive, limit: int) -> bytes | None:  # type: ignore[no-untyped-def]
        parts: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            if chunk:
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge
                parts.append(chunk)
            if not message.get("more_body", False):
                return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _cycle(self, scope, body: bytes, receive, send, used_db: set[int]) -> None:  # type: ignore[no-untyped-def]
        """Django's request cycle, minus its per-request costs (module docstring).

        ``request_started`` and ``request_finished`` run on the event loop
        unless the request used a database connection on another thread
        (``gateway.dbuse``); then ``request_finished`` takes the thread hop
        Django gives it, so ``close_old_connections`` runs where the
        connection lives. ``request_started`` has nothing to do on the loop's
        thread; the shared thread's connections were checked by the
        ``request_finished`` of the last request that used them (which also
        re-arms their health check)."""
        set_script_prefix(get_script_prefix(scope))
        await self._signal(signals.request_started, used_db, scope=scope)
        request, error_response = self.create_request(scope, BytesIO(body))
        if request is None:
            await self.send_response(error_response, send)
            await self._close(error_response, used_db)
            return
        # A view that reads the body itself (RECEIVE_KEY) also sees the disconnect.
        watcher = None if RECEIVE_KEY in scope else DisconnectWatcher(receive)
        response = None
        try:
            response = await self.run_get_response(request)
            await self.send_response(response, send)
        except asyncio.CancelledError:
            if watcher is None or not watcher.fired:
                raise
            # The client left: the view (or the relay) has logged the call.
        finally:
            if watcher is not None:
                watcher.stop()
        if response is None:
            await self._signal(signals.request_finished, used_db)
        else:
            await self._close(response, used_db)

    async def _signal(self, signal: Signal, used_db: set[int], **kwargs: Any) -> None:
        if used_db or not send_on_loop(signal, self.__class__, **kwargs):
            await signal.asend(sender=self.__class__, **kwargs)

    async def _close(self, response: Any, used_db: set[int]) -> None:
        if used_db or type(response).close is not HttpResponseBase.close:
            await sync_to_async(response.close)()  # closers, then request_finished, as Django does
            return
        # HttpResponseBase.close, with request_finished sent on the loop.
        for closer in response._resource_closers:
            with contextlib.suppress(Exception):  # as Django: a failing closer does not stop the others
                closer()
        response._resource_closers.clear()
        response.closed = True
        if not send_on_loop(signals.request_finished, response._handler_class):
            await sync_to_async(signals.request_finished.send)(sender=response._handler_class)

    async def send_response(self, response, send):  # type: ignore[no-untyped-def]
        if response.streaming and not isinstance(response, RelayStream):
            return await super().send_response(response, send)  # Django's own streaming path
        headers = [
            (
                name.encode("ascii") if isinstance(name, str) else bytes(name),
                value.encode("latin1") if isinstance(value, str) else bytes(value),
            )
            for name, value in response.items()
        ]
        for cookie in response.cookies.values():
            headers.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        if isinstance(response, RelayStream):
            await response.stream_to(send)
        else:
            await send({"type": "http.response.body", "body": response.content})

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
