"""The /v1 ASGI app: a plain ASGI callable in front of the /v1 views.

Django's ``ASGIHandler`` would cost, per request, a temporary file for the
body, two tasks, a thread hop for each of ``request_started`` and
``request_finished``, the middleware chain (each sync middleware is a thread
hop) and ``StreamingHttpResponse``'s wrappers per streamed chunk. This app
uses only Django's public pieces instead (``ASGIRequest``, the URL resolver,
the views, ``HttpResponse.close``, the request signals' ``send``):

- no middleware on /v1;
- a body guard: 413 from ``Content-Length`` or as soon as a chunked body
  passes ``JUNCTION_MAX_BODY_BYTES``, without buffering it; 408 when the
  client stops sending its body for ``JUNCTION_BODY_TIMEOUT`` seconds;
- the body read into memory, one watcher task that cancels the request when
  the client disconnects;
- every error in OpenAI's shape (Anthropic's under ``/v1/messages``): an
  unknown path is a 404, a wrong method a 405, an exception a 500, never
  Django's HTML page;
- ``request_started`` / ``request_finished`` sent on the event loop, unless
  the request used a database connection on another thread
  (``gateway.dbuse``): then the response is closed, and ``request_finished``
  sent, on that thread (asgiref's shared one) so ``close_old_connections``
  runs where the connection lives. Receivers of these two signals must
  therefore be synchronous (Django's own are);
- relayed streams (``gateway.relay.RelayStream``) written to ASGI ``send``
  one ``http.response.body`` per relay chunk.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from io import BytesIO
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.handlers.asgi import ASGIRequest, get_script_prefix
from django.dispatch import Signal
from django.http import Http404, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.urls import Resolver404, URLResolver, get_resolver, set_script_prefix

from files.multipart import RECEIVE_KEY, scope_is_multipart
from gateway import dbuse
from gateway.context import CallContext, new_request_id
from gateway.dialects import chat, messages
from gateway.errors import ErrorType, GatewayError
from gateway.relay import RelayStream

logger = logging.getLogger("junction.asgi")

# The mounts of the one API (config/urls.py); the bare prefixes are paths too.
API_MOUNTS = ("/v1/openai", "/api/v1", "/v1")
API_PREFIXES = tuple(f"{m}/" for m in API_MOUNTS)

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class BodyTooLarge(Exception):
    pass


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in API_MOUNTS


def api_subpath(path: str) -> str:
    """The path below its mount: ``/v1/openai/chat/completions`` -> ``/chat/completions``."""
    for mount in API_MOUNTS:
        if path.startswith(mount):
            return path[len(mount) :]
    return path


def dialect_for_path(path: str) -> Any:
    if api_subpath(path).startswith("/messages"):
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


def send_on_loop(signal: Signal, sender: Any, **kwargs: Any) -> bool:
    """``signal.send`` on the event loop's thread. Django's receivers of the
    request signals only touch the calling thread's database connections,
    and the loop's thread has none (Django refuses sync database work there),
    so on the loop they find nothing to do and cost next to nothing."""
    signal.send(sender=sender, **kwargs)
    return True


def cache_receivers(*signals_: Signal) -> None:
    """Let Django cache these signals' receivers per sender, as it does for
    signals made with ``Signal(use_caching=True)``: ``connect`` and
    ``disconnect`` clear the cache. Uncached, every send takes the signal's
    lock and walks its receivers (7 % of the event loop's GIL time at 64
    streams, bench/README.md)."""
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


def error_json(path: str, err: GatewayError, request_id: str | None = None) -> HttpResponse:
    """An error in the shape of the path's dialect, with ``x-request-id``."""
    request_id = request_id or new_request_id()
    response = HttpResponse(
        dialect_for_path(path).encode_error(err, request_id),
        status=err.status,
        content_type="application/json",
    )
    response["x-request-id"] = request_id
    for name, value in err.headers.items():
        response[name] = value
    return response


def not_found(method: str, path: str) -> GatewayError:
    return GatewayError(
        ErrorType.INVALID_REQUEST,
        f"Invalid URL ({method} {path}): no such endpoint.",
        status=404,
        code="unknown_url",
    )


def method_not_allowed(method: str, path: str, allowed: str) -> GatewayError:
    return GatewayError(
        ErrorType.INVALID_REQUEST,
        f"Invalid method for URL ({method} {path}); allowed: {allowed}.",
        status=405,
        code="method_not_allowed",
        headers={"allow": allowed},
    )


async def read_body(receive: Receive, limit: int, idle_seconds: float) -> bytes | None:
    """The whole body (None if the client left first). ``BodyTooLarge`` past
    ``limit`` bytes; ``TimeoutError`` when no part of it came for ``idle_seconds``."""
    parts: list[bytes] = []
    received = 0
    async with asyncio.timeout(idle_seconds) as deadline:
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
            deadline.reschedule(asyncio.get_running_loop().time() + idle_seconds)


class ApiApp:
    """The ASGI app for /v1, /api/v1 and /v1/openai (``config.asgi`` routes to it)."""

    def __init__(self) -> None:
        cache_receivers(signals.request_started, signals.request_finished)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        # Django wraps every request in a ThreadSensitiveContext, which gives
        # the request its own executor: two new OS threads per request. /v1
        # views are async and their few sync calls (key and catalog cache
        # misses) are rare, so they share asgiref's one process-wide thread.
        if scope["type"] != "http":
            raise ValueError(f"The /v1 app serves only HTTP, not {scope['type']}.")
        limit = settings.JUNCTION_MAX_BODY_BYTES
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    return await self._refuse(scope, send, body_too_large(limit))
        try:
            if scope_is_multipart(scope):
                # An upload is not read into memory: the view streams it from
                # ``receive`` (files.multipart.receive_form).
                scope[RECEIVE_KEY] = receive
                body: bytes | None = b""
            else:
                body = await read_body(receive, limit, settings.JUNCTION_BODY_TIMEOUT)
        except BodyTooLarge:
            return await self._refuse(scope, send, body_too_large(limit))
        except TimeoutError:
            return await self._refuse(scope, send, body_timeout(settings.JUNCTION_BODY_TIMEOUT))
        if body is None:
            return  # the client left before its request was complete
        used_db, token = dbuse.track()
        try:
            await self._cycle(scope, body, receive, send, used_db)
        finally:
            dbuse.untrack(token)

    async def _cycle(
        self, scope: dict[str, Any], body: bytes, receive: Receive, send: Send, used_db: set[int]
    ) -> None:
        set_script_prefix(get_script_prefix(scope))
        send_on_loop(signals.request_started, ApiApp, scope=scope)
        request: ASGIRequest | None = None
        response: HttpResponseBase | None = None
        # A view that reads the body itself (RECEIVE_KEY) sees the disconnect there.
        watcher = None if RECEIVE_KEY in scope else DisconnectWatcher(receive)
        try:
            try:
                request = ASGIRequest(scope, BytesIO(body))
            except UnicodeDecodeError:
                err = GatewayError(ErrorType.INVALID_REQUEST, "The request path is not valid UTF-8.")
                response = error_json(scope.get("path", ""), err)
            else:
                response = await self.get_response(request)
            await self.send_response(response, send)
        except asyncio.CancelledError:
            if watcher is None or not watcher.fired:
                raise
            # The client left: the view (or the relay) has logged the call.
        finally:
            if watcher is not None:
                watcher.stop()
        if used_db:
            # Where the connection lives: asgiref's shared thread.
            await sync_to_async(self._close)(request, response)
        else:
            self._close(request, response)

    @staticmethod
    def _close(request: ASGIRequest | None, response: HttpResponseBase | None) -> None:
        """The request's files, then the response (its closers and
        ``request_finished``, ``HttpResponseBase.close``)."""
        if request is not None:
            request.close()
        if response is not None:
            response.close()
        else:
            signals.request_finished.send(sender=ApiApp)

    async def get_response(self, request: ASGIRequest) -> HttpResponseBase:
        """The view's answer, or an error in the caller's shape."""
        path = request.path
        try:
            match = resolve_path(get_resolver(), request.path_info)
        except Resolver404:
            return error_json(path, not_found(request.method or "", path))
        request.resolver_match = match
        view = match.func
        try:
            if iscoroutinefunction(view):
                response = await view(request, *match.args, **match.kwargs)
            else:
                response = await sync_to_async(view)(request, *match.args, **match.kwargs)
        except Http404:
            return error_json(path, not_found(request.method or "", path))
        except PermissionDenied as exc:
            return error_json(path, GatewayError(ErrorType.PERMISSION, str(exc) or "Permission denied."))
        except (BadRequest, SuspiciousOperation) as exc:
            return error_json(path, GatewayError(ErrorType.INVALID_REQUEST, str(exc) or "Bad request."))
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, path)
            signals.got_request_exception.send(sender=ApiApp, request=request)
            err = GatewayError(ErrorType.INTERNAL, "The server had an error while processing your request.")
            return error_json(path, err)
        if isinstance(response, HttpResponseNotAllowed):
            return error_json(path, method_not_allowed(request.method or "", path, response["Allow"]))
        return response

    async def send_response(self, response: HttpResponseBase, send: Send) -> None:
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
        elif response.streaming:
            async for part in response:  # type: ignore[attr-defined]
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": response.content})  # type: ignore[attr-defined]

    async def _refuse(self, scope: dict[str, Any], send: Send, err: GatewayError) -> None:
        """Answer before the body was read (413, 408): logged, and the
        connection closed (the rest of the body is never read)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        client = scope.get("client")
        path = scope.get("path", "")
        ctx = CallContext(
            endpoint=path,
            dialect=dialect_for_path(path),
            headers=headers,
            client_ip=client[0] if client else None,
        )
        ctx.fail(err)
        ctx.finish()
        body = ctx.dialect.encode_error(err, ctx.request_id)
        await send(
            {
                "type": "http.response.start",
                "status": err.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", ctx.request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def body_too_large(limit: int) -> GatewayError:
    return GatewayError(
        ErrorType.REQUEST_TOO_LARGE,
        f"The request body exceeds the limit of {limit} bytes.",
        code="request_too_large",
    )


def body_timeout(timeout: float) -> GatewayError:
    return GatewayError(
        ErrorType.TIMEOUT,
        f"The request body did not arrive: nothing was received for {timeout:g}s.",
        status=408,
        code="request_timeout",
    )
