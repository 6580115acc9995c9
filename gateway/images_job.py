"""Running one image job (the body of ``files.tasks.run_image_job``).

Claims the job (a task delivered twice runs once), runs the call's stages
(``gateway.images_call.run``), ends the call exactly once (settle + log row),
writes the charge through, records the result on the job and publishes
``image.done`` to the job's channel-layer group. Streamed partial images are
published as they arrive.

Publishing: with Redis the job publishes from wherever it runs. In the
embedded default the job runs in the web process on a worker thread and the
channel layer is in memory, bound to the server's event loop: messages are
handed to that loop (``loop``) rather than touched from the job's thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import msgspec
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from billing.book.credit_book import book
from files.generated import generated_images_set_cost
from files.image_jobs import image_job_finish, image_job_group, image_job_start
from gateway.canonical_images import ImageRequest
from gateway.dialects import images as images_dialect
from gateway.errors import ErrorType, GatewayError
from gateway.images_call import new_call, result_of, run

logger = logging.getLogger("junction.images")


@dataclass(frozen=True, slots=True)
class Publisher:
    group: str
    loop: asyncio.AbstractEventLoop | None = None  # the in-memory layer's loop (embedded mode)

    async def publish(self, message: dict[str, Any]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        coro = layer.group_send(self.group, message)
        if self.loop is not None and self.loop is not _running_loop():
            if self.loop.is_closed():
                coro.close()
                return
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))
        else:
            await coro


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def job_payload(
    *, request: ImageRequest, key_hash: str, request_id: str, headers: dict[str, str], client_ip: str | None
) -> dict[str, Any]:
    """The task's one argument (JSON-safe; input images as base64)."""
    return {
        "request": request.payload(),
        "key_hash": key_hash,
        "request_id": request_id,
        "headers": headers,
        "client_ip": client_ip,
    }


def run_job(*, job_id: str, payload: dict[str, Any], loop: asyncio.AbstractEventLoop | None = None) -> str:
    """Run the job once; returns its final status."""
    if not image_job_start(job_id=job_id):
        return "skipped"  # already run (a redelivered task): charged once
    publisher = Publisher(group=image_job_group(job_id), loop=loop)
    call = new_call(
        job_id=job_id,
        request=ImageRequest.from_payload(payload["request"]),
        request_id=payload["request_id"],
        headers=payload["headers"],
        client_ip=payload["client_ip"],
    )
    error: GatewayError | None = None
    try:
        async_to_sync(run)(call, key_hash=payload["key_hash"], publish=publisher.publish)
    except GatewayError as err:
        error = err
    except Exception:
        logger.exception("image job %s (%s) failed", job_id, call.ctx.request_id)
        error = GatewayError(ErrorType.INTERNAL, "Junction failed to run the image job.")
    if error is not None:
        call.ctx.fail(error)
    result = result_of(call) if error is None else None
    call.ctx.finish()  # settle (once) and queue the log row
    book.flush()  # the charge is written before the client hears of it
    if error is None:
        assert result is not None
        generated_images_set_cost(
            image_ids=[row.pk for row in call.stored], total_units=call.ctx.charged_units
        )
        image_job_finish(job_id=job_id, result=result)
    else:
        body = msgspec.json.decode(images_dialect.encode_error(error, call.ctx.request_id))
        if error.retry_after and isinstance(body.get("error"), dict):
            body["error"]["retry_after"] = error.retry_after  # the view sends it as Retry-After
        image_job_finish(job_id=job_id, result=None, error=body, error_status=error.status)
    try:
        async_to_sync(publisher.publish)({"type": "image.done", "job_id": job_id})
    except Exception:  # the result is on the job row; a waiter that misses this times out into it
        logger.exception("could not publish the end of image job %s", job_id)
    return "failed" if error is not None else "succeeded"
