"""The images API on /v1 (and /api/v1, /v1/openai): thin async views.

``POST /images/generations`` (JSON) and ``POST /images/edits`` (multipart,
streamed through ``files.multipart.receive_form``) authenticate and decode
the call, create its ``ImageJob`` and hand it to the Celery task
``files.run_image_job`` -- eagerly on a worker thread of this process in the
embedded default -- then wait for the job on the channel layer up to
``IMAGES_JOB_TIMEOUT``: its answer, its stream of events, or a 504 naming the
job. ``GET /images/jobs/{id}`` (Junction's) reads a job's result for
``IMAGES_JOB_TTL``. Rate limits, firewall, routing, billing and the log row
are the job's (``gateway.images_call``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from files import services as file_services
from files.generated import generated_image_url, generated_images_get
from files.image_jobs import image_job_create, image_job_get, image_job_group
from files.models import GeneratedImage, ImageJob, ImageJobStatus
from files.multipart import (
    RECEIVE_KEY,
    ClientLeft,
    FileTooLarge,
    FormError,
    is_multipart,
    receive_form,
    receive_from_body,
)
from files.sniff import JPEG, PNG, WEBP
from files.storage import blob_chunks
from files.tasks import run_image_job
from gateway import pipeline
from gateway.auth import Principal, authenticate, bearer_token
from gateway.canonical_images import ImageRequest, InputImage
from gateway.context import CallContext
from gateway.dialects import images as images_dialect
from gateway.dialects.images import answer as render
from gateway.dialects.images.request import EDIT_FILE_FIELDS, decode, form_fields
from gateway.errors import ErrorType, GatewayError, invalid_request
from gateway.images_job import job_payload, run_job
from gateway.relay import SSE_HEADERS

logger = logging.getLogger("junction.images")

EDIT_TYPES = frozenset({PNG, JPEG, WEBP})
MAX_EDIT_IMAGES = 16
# Headers the job needs: the client's identity and per-request provider keys.
JOB_HEADERS = ("user-agent", "x-junction-router-mode")


@functools.cache
def job_threads() -> ThreadPoolExecutor:
    """Embedded mode's stand-in for a Celery worker pool (one per process)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="image-job")


def _eager_job(job_id: str, payload: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
    try:
        run_job(job_id=job_id, payload=payload, loop=loop)
    except Exception:
        logger.exception("image job %s crashed", job_id)
    finally:
        close_old_connections()


def byok_header(name: str) -> bool:
    """``X-<Provider>-Key``: a per-request provider key the job's routing reads
    (never Junction's own key, which the job does not need)."""
    return name.startswith("x-") and name.endswith("-key") and name != "x-api-key"


def public_base(request: HttpRequest) -> str:
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")


# ------------------------------------------------------------------ decode


async def _read_edit(request: HttpRequest, ctx: CallContext) -> ImageRequest:
    if not is_multipart(ctx.headers):
        raise invalid_request("Expected a multipart/form-data body with 'image' and 'prompt'.", param="image")
    limit = settings.FILES_MAX_BYTES
    receive = request.scope.get(RECEIVE_KEY) or receive_from_body(request.body)  # type: ignore[attr-defined]
    try:
        form = await receive_form(
            receive,
            content_type=ctx.headers.get("content-type", ""),
            file_fields=frozenset({"image", "mask"}),
            repeated_file_fields=frozenset({"image[]"}),
            max_file_bytes=limit,
            tmp_dir=file_services.tmp_dir(),
            idle_seconds=settings.JUNCTION_BODY_TIMEOUT,
        )
    except TimeoutError:
        raise GatewayError(
            ErrorType.TIMEOUT, "The upload stalled.", status=408, code="request_timeout"
        ) from None
    except FileTooLarge as exc:
        raise GatewayError(
            ErrorType.REQUEST_TOO_LARGE,
            f"'{exc.args[0] if exc.args else 'image'}' exceeds the limit of {limit} bytes.",
            status=413,
            param="image",
        ) from None
    except FormError as err:
        raise invalid_request(err.message, param=err.param) from None
    try:
        received = ([form.files["image"]] if "image" in form.files else []) + form.repeated.get("image[]", [])
        if len(received) > MAX_EDIT_IMAGES:
            raise invalid_request(f"Give at most {MAX_EDIT_IMAGES} images.", param="image")
        images = []
        for index, part in enumerate(received):
            param = "image" if len(received) == 1 else f"image[{index}]"
            kind = part.content_type()
            if kind not in EDIT_TYPES:
                raise invalid_request(f"'{param}' must be a PNG, JPEG or WebP image.", param=param)
            data = await asyncio.to_thread(Path(part.path).read_bytes)
            images.append(InputImage(data, kind, part.filename, param))
        mask = None
        if "mask" in form.files:
            part = form.files["mask"]
            if part.content_type() != PNG:
                raise invalid_request("'mask' must be a PNG image (with an alpha channel).", param="mask")
            mask = InputImage(await asyncio.to_thread(Path(part.path).read_bytes), PNG, part.filename, "mask")
        fields = form_fields(form.fields)
        return decode(fields, operation="edits", images=images, mask=mask)
    finally:
        form.discard()


async def _read(request: HttpRequest, ctx: CallContext, operation: str) -> ImageRequest:
    if operation == "edits":
        return await _read_edit(request, ctx)
    body = pipeline.parse_json_body(request.body)
    for name in EDIT_FILE_FIELDS:
        if name in body:
            raise invalid_request(
                f"Unknown parameter: '{name}'; images are edited on /v1/images/edits.", param=name
            )
    return decode(body, operation="generations")


# ------------------------------------------------------------------ create


async def _create(request: HttpRequest, operation: str) -> HttpResponseBase:
    ctx = pipeline.new_context(request, endpoint=f"images.{operation}", dialect=images_dialect)
    try:
        principal = ctx.principal = await authenticate(bearer_token(ctx.headers))
        req = await _read(request, ctx, operation)
    except ClientLeft:
        ctx.client_disconnected()
        ctx.finish()
        return HttpResponse(status=499)
    except GatewayError as err:
        return pipeline.error_response(ctx, err)  # refused before any job: logged here
    ctx.model_requested = req.model
    # From here the job owns the call: its log row, its charge, its answer.
    job = await sync_to_async(image_job_create)(
        workspace_id=principal.workspace_id,
        request_id=ctx.request_id,
        operation=operation,
        response_format=req.response_format,
    )
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    group = image_job_group(job.public_id)
    await layer.group_add(group, channel)
    payload = job_payload(
        request=req,
        key_hash=principal.key_hash,
        request_id=ctx.request_id,
        headers={k: v for k, v in ctx.headers.items() if k in JOB_HEADERS or byok_header(k)},
        client_ip=ctx.client_ip,
    )
    if settings.IMAGES_JOBS_IN_PROCESS:
        loop = asyncio.get_running_loop()
        loop.run_in_executor(job_threads(), _eager_job, job.public_id, payload, loop)
    else:
        await asyncio.to_thread(run_image_job.delay, job.public_id, payload)
    if req.stream:
        return StreamingHttpResponse(
            _events(request, job, req, layer, channel, group),
            content_type="text/event-stream",
            headers={**SSE_HEADERS, "x-request-id": ctx.request_id, "x-junction-job-id": job.public_id},
        )
    try:
        async with asyncio.timeout(settings.IMAGES_JOB_TIMEOUT):
            while (await layer.receive(channel)).get("type") != "image.done":
                pass  # partial images of a call that did not ask to stream: none are sent
    except TimeoutError:
        return _still_running(job, ctx.request_id)
    finally:
        await layer.group_discard(group, channel)
    job = await sync_to_async(ImageJob.objects.get)(pk=job.pk)
    return await _answer(request, job)


def _still_running(job: ImageJob, request_id: str) -> HttpResponse:
    message = (
        f"The image job '{job.public_id}' did not finish within {settings.IMAGES_JOB_TIMEOUT:g}s; it keeps "
        f"running: read its result from GET /v1/images/jobs/{job.public_id}."
    )
    body = {
        "error": {
            "message": message,
            "type": str(ErrorType.TIMEOUT),
            "param": None,
            "code": "image_job_timeout",
            "request_id": request_id,
            "http_status": 504,
            "job_id": job.public_id,
        },
        "job_id": job.public_id,
    }
    response = HttpResponse(msgspec.json.encode(body), status=504, content_type="application/json")
    response["x-request-id"] = request_id
    response["x-junction-job-id"] = job.public_id
    return response


# ------------------------------------------------------------------ render


def _read_blob(image: GeneratedImage) -> bytes:
    return b"".join(blob_chunks(image.file.storage_key))


async def _rendered(
    request: HttpRequest, job: ImageJob, *, want_bytes: bool, want_urls: bool
) -> tuple[list[GeneratedImage], list[bytes], list[str | None]]:
    result = job.result or {}
    ids = [i["id"] for i in result.get("images", ())]
    images = await sync_to_async(generated_images_get)(workspace_id=job.workspace_id, public_ids=ids)
    if len(images) != len(ids):
        raise GatewayError(
            ErrorType.NOT_FOUND, "The job's images were deleted.", status=404, code="image_not_found"
        )
    raw = [await asyncio.to_thread(_read_blob, i) for i in images] if want_bytes else []
    base = public_base(request)
    urls: list[str | None] = (
        [(await asyncio.to_thread(generated_image_url, image=i, base_url=base)).url for i in images]
        if want_urls
        else [None] * len(images)
    )
    return images, raw, urls


def _json(body: object, *, status: int = 200, request_id: str = "", job_id: str = "") -> HttpResponse:
    response = HttpResponse(msgspec.json.encode(body), status=status, content_type="application/json")
    if request_id:
        response["x-request-id"] = request_id
    if job_id:
        response["x-junction-job-id"] = job_id
    return response


async def _answer_body(request: HttpRequest, job: ImageJob) -> tuple[int, dict[str, Any]]:
    if job.status == ImageJobStatus.FAILED:
        return job.error_status or 500, job.error or {}
    b64 = job.response_format == "b64_json"
    _, raw, urls = await _rendered(request, job, want_bytes=b64, want_urls=not b64)
    result = job.result or {}
    rendered: list[render.Rendered] = [(None, data) for data in raw] if b64 else [(url, None) for url in urls]
    return 200, render.images_response(result, rendered, job_id=job.public_id)


async def _answer(request: HttpRequest, job: ImageJob) -> HttpResponse:
    try:
        status, body = await _answer_body(request, job)
    except GatewayError as err:
        status, body = err.status, images_dialect.error_body(err, job.request_id)
    response = _json(body, status=status, request_id=job.request_id, job_id=job.public_id)
    cost = body.get("cost")
    if status == 200 and cost is not None:
        response["x-junction-cost"] = str(cost)
    error = body.get("error")
    if isinstance(error, dict) and error.get("retry_after"):
        response["retry-after"] = str(error["retry_after"])  # a rate limit the job met (429)
    return response


async def _events(
    request: HttpRequest, job: ImageJob, req: ImageRequest, layer: Any, channel: str, group: str
) -> AsyncIterator[bytes]:
    """The job's events as the SDK's stream: partial images as they come, then
    one completed event per image (or an error event)."""
    try:
        async with asyncio.timeout(settings.IMAGES_JOB_TIMEOUT):
            while True:
                message = await layer.receive(channel)
                if message.get("type") == "image.partial":
                    event = message["event"]
                    yield f"event: {event['type']}\ndata: ".encode() + msgspec.json.encode(event) + b"\n\n"
                elif message.get("type") == "image.done":
                    break
    except TimeoutError:
        body = _still_running(job, job.request_id).content
        yield b"event: error\ndata: " + body + b"\n\n"
        return
    finally:
        with contextlib.suppress(Exception):
            await layer.group_discard(group, channel)
    job = await sync_to_async(ImageJob.objects.get)(pk=job.pk)
    if job.status == ImageJobStatus.FAILED:
        yield b"event: error\ndata: " + msgspec.json.encode(job.error or {}) + b"\n\n"
        return
    images, raw, urls = await _rendered(request, job, want_bytes=True, want_urls=req.response_format == "url")
    for event in render.completed_events(job.result or {}, images, raw, urls, operation=job.operation):
        yield f"event: {event['type']}\ndata: ".encode() + msgspec.json.encode(event) + b"\n\n"


@csrf_exempt
@require_POST
async def generations(request: HttpRequest) -> HttpResponseBase:
    return await _create(request, "generations")


@csrf_exempt
@require_POST
async def edits(request: HttpRequest) -> HttpResponseBase:
    return await _create(request, "edits")


# -------------------------------------------------------------------- jobs


@require_GET
async def job_detail(request: HttpRequest, job_id: str) -> HttpResponseBase:
    """Junction's: a job's state, and its answer once it has one."""
    ctx = pipeline.new_context(request, endpoint="images.job", dialect=images_dialect)
    try:
        principal: Principal = await authenticate(bearer_token(ctx.headers))
        ctx.principal = principal
        job = await sync_to_async(image_job_get)(workspace_id=principal.workspace_id, job_id=job_id)
        if job is None:
            raise GatewayError(
                ErrorType.NOT_FOUND,
                f"No image job with id '{job_id}'.",
                status=404,
                param="job_id",
                code="image_job_not_found",
            )
        body: dict[str, Any] = {
            "id": job.public_id,
            "object": "image.job",
            "status": job.status,
            "operation": job.operation,
            "created_at": int(job.created_at.timestamp()),
            "finished_at": int(job.finished_at.timestamp()) if job.finished_at else None,
            "request_id": job.request_id,
        }
        if job.status in (ImageJobStatus.SUCCEEDED, ImageJobStatus.FAILED):
            status, answer = await _answer_body(request, job)
            body["result" if status == 200 else "error"] = (
                answer if status == 200 else answer.get("error", answer)
            )
    except GatewayError as err:
        return pipeline.error_response(ctx, err)
    ctx.finish()
    return _json(body, request_id=ctx.request_id, job_id=job_id)
