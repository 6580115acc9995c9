"""The OpenAI files API on /v1 (and /api/v1): thin async views.

``POST /files`` streams its multipart body from the ASGI ``receive`` channel
(``files.multipart``) to a temporary file and then to blob storage; the
other endpoints read through the selectors. Every error is OpenAI's shape.
``GET /files/{id}/url`` (Junction's) gives a signed link, served by
``GET /files/{id}/blob`` without an auth header.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from files import policy, selectors, services, signing
from files.errors import FilesError, FilesErrorCode, file_not_found
from files.models import File
from files.multipart import (
    MAX_FIELD_BYTES,
    RECEIVE_KEY,
    ClientLeft,
    FileTooLarge,
    FormError,
    is_multipart,
    receive_form,
    receive_from_body,
)
from files.storage import blob_chunks, content_disposition
from gateway import pipeline
from gateway.auth import Principal, authenticate, bearer_token
from gateway.context import CallContext
from gateway.dialects import chat
from gateway.errors import ErrorType, GatewayError, invalid_request

FORM_FIELDS = frozenset({"purpose", "expires_after[anchor]", "expires_after[seconds]"})
FORM_OVERHEAD = MAX_FIELD_BYTES + 64 * 1024  # boundaries and part headers around the file
LIST_MAX = 10_000

_STATUS = {
    FilesErrorCode.NOT_FOUND: (ErrorType.INVALID_REQUEST, 404),
    FilesErrorCode.BAD_SIGNATURE: (ErrorType.PERMISSION, 403),
    FilesErrorCode.TOO_LARGE: (ErrorType.REQUEST_TOO_LARGE, 413),
}


def gateway_error(err: FilesError) -> GatewayError:
    kind, status = _STATUS.get(err.code, (ErrorType.INVALID_REQUEST, 400))
    return GatewayError(kind, err.message, status=status, param=err.param, code=str(err.code))


def file_object(file: File) -> dict[str, Any]:
    return {
        "id": file.public_id,
        "object": "file",
        "bytes": file.bytes,
        "created_at": int(file.created_at.timestamp()),
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "expires_at": int(file.expires_at.timestamp()) if file.expires_at else None,
        "status_details": None,
    }


def json_response(ctx: CallContext, body: object, status: int = 200) -> HttpResponse:
    ctx.finish()
    response = HttpResponse(msgspec.json.encode(body), status=status, content_type="application/json")
    response["x-request-id"] = ctx.request_id
    return response


Handler = Callable[[HttpRequest, CallContext, Principal], Awaitable[HttpResponseBase]]


async def run(request: HttpRequest, endpoint: str, handler: Handler) -> HttpResponseBase:
    """Authenticate, run ``handler``, map every error to OpenAI's shape."""
    ctx = pipeline.new_context(request, endpoint=endpoint, dialect=chat)
    try:
        ctx.principal = principal = await authenticate(bearer_token(ctx.headers))
        return await handler(request, ctx, principal)
    except FilesError as err:
        return pipeline.error_response(ctx, gateway_error(err))
    except GatewayError as err:
        return pipeline.error_response(ctx, err)


# ------------------------------------------------------------------ create


async def _create(request: HttpRequest, ctx: CallContext, principal: Principal) -> HttpResponse:
    content_type = ctx.headers.get("content-type", "")
    if not is_multipart(ctx.headers):
        raise invalid_request("Expected a multipart/form-data body with 'file' and 'purpose'.", param="file")
    limit = settings.FILES_MAX_BYTES
    declared = ctx.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise services.too_large(limit)
    receive = request.scope.get(RECEIVE_KEY) or receive_from_body(request.body)  # type: ignore[attr-defined]
    try:
        form = await receive_form(
            receive,
            content_type=content_type,
            file_fields=frozenset({"file"}),
            max_file_bytes=limit,
            tmp_dir=services.tmp_dir(),
            idle_seconds=settings.JUNCTION_BODY_TIMEOUT,
        )
    except TimeoutError:
        raise GatewayError(
            ErrorType.TIMEOUT,
            f"The upload stalled: nothing was received for {settings.JUNCTION_BODY_TIMEOUT:g}s.",
            status=408,
            code="request_timeout",
        ) from None
    except FileTooLarge:
        raise services.too_large(limit) from None
    except FormError as err:
        raise invalid_request(err.message, param=err.param) from None
    except ClientLeft:
        ctx.client_disconnected()
        return json_response(ctx, {}, status=499)
    try:
        for name in form.fields:
            if name not in FORM_FIELDS:
                raise invalid_request(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
        purpose = policy.check_purpose(form.fields.get("purpose"))
        received = form.files.get("file")
        if received is None:
            raise invalid_request("Missing required parameter: 'file'.", param="file")
        sniffed = policy.check_content_type(
            purpose=purpose, content_type=received.content_type(), size=received.size
        )
        created_at = timezone.now()
        expires_at = policy.expiry(
            purpose=purpose,
            anchor=form.fields.get("expires_after[anchor]"),
            seconds=form.fields.get("expires_after[seconds]"),
            created_at=created_at,
        )
        new = services.NewFile(
            workspace_id=principal.workspace_id,
            purpose=purpose,
            filename=received.filename,
            size=received.size,
            sha256=received.sha256,
            content_type=sniffed,
            created_at=created_at,
            expires_at=expires_at,
        )
        file = await services.file_create_async(new=new, path=received.path)
    finally:
        form.discard()
    return json_response(ctx, file_object(file))


# -------------------------------------------------------------------- list


def _list_params(query: Any) -> tuple[str | None, int, str, str | None]:
    purpose = query.get("purpose") or None
    if purpose is not None:
        policy.check_purpose(purpose)
    raw_limit = query.get("limit", str(LIST_MAX))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= LIST_MAX:
        raise invalid_request(f"Invalid 'limit': expected an integer from 1 to {LIST_MAX}.", param="limit")
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_request("Invalid 'order': expected 'asc' or 'desc'.", param="order")
    return purpose, int(raw_limit), order, query.get("after") or None


async def _list(request: HttpRequest, ctx: CallContext, principal: Principal) -> HttpResponse:
    purpose, limit, order, after = _list_params(request.GET)
    page = await sync_to_async(selectors.file_list)(
        workspace_id=principal.workspace_id, purpose=purpose, limit=limit, order=order, after=after
    )
    data = [file_object(f) for f in page.files]
    return json_response(
        ctx,
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": page.has_more,
        },
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def files_root(request: HttpRequest) -> HttpResponseBase:
    if request.method == "POST":
        return await run(request, "files.create", _create)
    return await run(request, "files.list", _list)


# ----------------------------------------------------------- one file


async def _get(principal: Principal, file_id: str) -> File:
    return await sync_to_async(selectors.file_get)(workspace_id=principal.workspace_id, file_id=file_id)


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
async def file_detail(request: HttpRequest, file_id: str) -> HttpResponseBase:
    async def retrieve(request: HttpRequest, ctx: CallContext, principal: Principal) -> HttpResponse:
        return json_response(ctx, file_object(await _get(principal, file_id)))

    async def delete(request: HttpRequest, ctx: CallContext, principal: Principal) -> HttpResponse:
        await services.file_delete_async(file=await _get(principal, file_id))
        return json_response(ctx, {"id": file_id, "object": "file", "deleted": True})

    if request.method == "DELETE":
        return await run(request, "files.delete", delete)
    return await run(request, "files.retrieve", retrieve)


async def blob_response(file: File) -> StreamingHttpResponse:
    """The blob's exact bytes, streamed a chunk at a time; a blob missing
    from storage is a 404 before any byte is sent."""
    chunks = blob_chunks(file.storage_key)
    try:
        first = await asyncio.to_thread(next, chunks, b"")
    except FileNotFoundError:
        raise file_not_found(file.public_id) from None

    async def stream() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            while chunk := await asyncio.to_thread(next, chunks, b""):
                yield chunk
        finally:
            await asyncio.to_thread(chunks.close)

    response = StreamingHttpResponse(stream(), content_type=file.content_type)
    response["content-length"] = str(file.bytes)
    response["content-disposition"] = content_disposition(file.filename, file.content_type)
    response["x-content-type-options"] = "nosniff"
    return response


@require_GET
async def file_content(request: HttpRequest, file_id: str) -> HttpResponseBase:
    async def content(request: HttpRequest, ctx: CallContext, principal: Principal) -> HttpResponseBase:
        response = await blob_response(await _get(principal, file_id))
        ctx.finish()
        response["x-request-id"] = ctx.request_id
        return response

    return await run(request, "files.content", content)


@require_GET
async def file_url(request: HttpRequest, file_id: str) -> HttpResponseBase:
    """Junction's: a signed link to the file's bytes that needs no auth header."""

    async def url(request: HttpRequest, ctx: CallContext, principal: Principal) -> HttpResponse:
        file = await _get(principal, file_id)
        base = settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")
        signed = await asyncio.to_thread(services.file_signed_url, file=file, base_url=base)
        return json_response(
            ctx, {"object": "file.url", "id": file_id, "url": signed.url, "expires_at": signed.expires_at}
        )

    return await run(request, "files.url", url)


@require_GET
async def file_blob(request: HttpRequest, file_id: str) -> HttpResponseBase:
    """A signed link's target: the signature is the only credential."""
    ctx = pipeline.new_context(request, endpoint="files.blob", dialect=chat)
    try:
        if not signing.verify(file_id, request.GET.get("expires"), request.GET.get("signature")):
            raise FilesError(FilesErrorCode.BAD_SIGNATURE, "The link's signature is invalid or has expired.")
        file = await sync_to_async(selectors.file_get_signed)(file_id=file_id)
        response = await blob_response(file)
    except FilesError as err:
        return pipeline.error_response(ctx, gateway_error(err))
    ctx.finish()
    response["x-request-id"] = ctx.request_id
    return response
