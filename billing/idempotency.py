"""The ``Idempotency-Key`` stage of the /v1 pipeline.

A retry with the same key and body within ``IDEMPOTENCY_TTL_HOURS`` gets the
stored answer (same body, same ``x-request-id``) without an upstream call or
a second charge. Same key, other body: 422. Same key while the first call
runs: 409. Keys are scoped per workspace. Only successful non-streaming
answers are stored; a failed call frees its key; a streamed call marks its
key used (a retry is refused with 409, since a stream can't be replayed).
The call's key is its ``IdempotencyCall`` (a ``CallStage``: at the call's
end it frees or completes the key).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpResponse, HttpResponseBase

from billing.services.idempotency import (
    ClaimOutcome,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
)
from billing.stages import run_soon
from gateway.context import CallContext
from gateway.errors import ErrorType, GatewayError, invalid_request
from gateway.stage import CallStage

HEADER = "idempotency-key"
REPLAY_HEADER = "idempotent-replayed"
MAX_KEY_LENGTH = 255
# Headers of the first answer worth repeating on a replay.
KEPT_HEADERS = ("content-type", "x-request-id", "x-junction-cost")


@dataclass(slots=True)
class IdempotencyCall(CallStage):
    key: str | None = None  # claimed by this call
    replay_of: str | None = None  # the request whose answer this call repeated

    def finish(self, ctx: CallContext) -> None:
        if self.key is not None:
            _release_or_complete(ctx, self.key)

    def log_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.key is not None:
            extra["idempotency_key"] = self.key
        if self.replay_of is not None:
            extra["idempotent_replay_of"] = self.replay_of
        return extra


async def begin(ctx: CallContext, call: IdempotencyCall, raw_body: bytes) -> HttpResponse | None:
    key = ctx.headers.get(HEADER)
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise invalid_request(
            f"The Idempotency-Key header is longer than {MAX_KEY_LENGTH} characters.",
            code="invalid_idempotency_key",
        )
    assert ctx.principal is not None
    claim = await sync_to_async(idempotency_claim)(
        workspace_id=ctx.principal.workspace_id,
        key=key,
        body_sha256=hashlib.sha256(raw_body).hexdigest(),
        request_id=ctx.request_id,
        stream=ctx.stream,
    )
    if claim.outcome is ClaimOutcome.CLAIMED:
        call.key = key
        return None
    if claim.outcome is ClaimOutcome.MISMATCH:
        raise GatewayError(
            ErrorType.UNPROCESSABLE,
            "This Idempotency-Key was already used with a different request body.",
            code="idempotency_key_reused",
        )
    if claim.outcome is ClaimOutcome.RUNNING:
        raise GatewayError(
            ErrorType.CONFLICT,
            "A request with this Idempotency-Key is still in progress; retry when it has finished.",
            code="idempotency_request_in_progress",
        )
    record = claim.record
    assert record is not None
    if record.stream or record.response_body is None:
        raise GatewayError(
            ErrorType.CONFLICT,
            "A streamed request with this Idempotency-Key already completed; streamed answers are not stored "
            "for replay.",
            code="idempotency_key_used",
        )
    response = HttpResponse(bytes(record.response_body), status=record.response_status or 200)
    for name, value in record.response_headers.items():
        response[name] = value
    response[REPLAY_HEADER] = "true"
    call.replay_of = record.request_id
    return response


async def store(ctx: CallContext, call: IdempotencyCall, response: HttpResponseBase) -> HttpResponseBase:
    key = call.key
    # A streamed answer (any response but an HttpResponse) is never kept.
    if key is None or ctx.stream or response.status_code >= 400 or not isinstance(response, HttpResponse):
        return response
    assert ctx.principal is not None
    await sync_to_async(idempotency_complete)(
        workspace_id=ctx.principal.workspace_id,
        key=key,
        request_id=ctx.request_id,
        status=response.status_code,
        headers={h: response[h] for h in KEPT_HEADERS if h in response},
        body=response.content,
    )
    return response


def _release_or_complete(ctx: CallContext, key: str) -> None:
    assert ctx.principal is not None
    workspace_id, request_id = ctx.principal.workspace_id, ctx.request_id
    if ctx.error is not None or ctx.status >= 400:
        run_soon(
            sync_to_async(idempotency_release)(workspace_id=workspace_id, key=key, request_id=request_id)
        )
    elif ctx.stream:
        run_soon(
            sync_to_async(idempotency_complete)(workspace_id=workspace_id, key=key, request_id=request_id)
        )
