"""The ``image_generation`` tool's images: stored as they arrive, linked by URL.

A call that offers the tool (or carries ``image_generation_call`` items) is
armed by ``arm``: it then always takes the translation path (as files do,
``ctx.force_translate``), because a same-wire pass-through would hand the
caller bytes Junction never read. The relay awaits ``store_answer`` /
``store_events`` on each translated answer or event batch (I/O stays out of
the pure provider and dialect modules): every finished image is stored
(``files.generated``, source ``responses_tool``) and its
``ImageGenerationCall.url`` set to the signed link. The base64 ``result`` is
kept, as the SDK's ``ImageGenerationCall`` type expects it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from files.generated import NotAnImage, generated_image_store, generated_image_url
from files.models import ImageSource
from gateway.canonical import (
    CanonicalResponse,
    Event,
    ImageGenerationCall,
    ImageGenerationProgress,
    ImageGenerationTool,
    Message,
    Role,
    TextPart,
)
from gateway.context import CallContext
from gateway.dialects.base import PassedAnswer
from gateway.providers.openai.wire import count_chat_search
from gateway.stage import CallStage

logger = logging.getLogger("junction.hosted_images")


class HostedImages(CallStage):
    """One call's hosted tool outputs: its generated images (``log_extra``:
    their ids), and the search a same-wire chat answer implies."""

    __slots__ = ("armed", "base_url", "image_ids", "prompt")

    def __init__(self) -> None:
        self.armed = False
        self.base_url = ""
        self.prompt = ""
        self.image_ids: list[str] = []

    def on_passed_answer(self, ctx: CallContext, answer: PassedAnswer) -> None:
        if ctx.request is not None and answer.usage is not None:
            count_chat_search(ctx.request, answer.usage)

    def log_extra(self) -> dict[str, Any]:
        return {"generated_images": list(self.image_ids)} if self.image_ids else {}


def arm(ctx: CallContext, state: HostedImages, request: HttpRequest) -> None:
    """Arm the stage when the call may make images: translation is forced."""
    req = ctx.request
    assert req is not None
    if not any(isinstance(t, ImageGenerationTool) for t in req.tools) and not any(
        isinstance(item, ImageGenerationCall) for item in req.items
    ):
        return
    state.armed = True
    state.base_url = settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")
    state.prompt = _last_user_text(ctx)
    ctx.force_translate = True


def _last_user_text(ctx: CallContext) -> str:
    assert ctx.request is not None
    for item in reversed(ctx.request.items):
        if isinstance(item, Message) and item.role is Role.USER:
            return "".join(p.text for p in item.content if isinstance(p, TextPart))
    return ""


def _state(ctx: CallContext) -> HostedImages | None:
    for stage in ctx.stages:
        if isinstance(stage, HostedImages):
            return stage if stage.armed else None
    return None


async def store_answer(ctx: CallContext, answer: CanonicalResponse) -> None:
    state = _state(ctx)
    if state is None:
        return
    for item in answer.output:
        if isinstance(item, ImageGenerationCall):
            await _store(ctx, state, item)


async def store_events(ctx: CallContext, events: list[Event]) -> None:
    state = _state(ctx)
    if state is None:
        return
    for event in events:
        if isinstance(event, ImageGenerationProgress) and event.call is not None:
            await _store(ctx, state, event.call)


async def _store(ctx: CallContext, state: HostedImages, call: ImageGenerationCall) -> None:
    if not call.result or call.url or ctx.principal is None:
        return
    try:
        data = base64.b64decode(call.result, validate=True)
    except (binascii.Error, ValueError):
        data = b""
    try:
        image = await asyncio.to_thread(
            generated_image_store,
            workspace_id=ctx.principal.workspace_id,
            data=data,
            mime=call.mime,
            prompt=call.revised_prompt or state.prompt,
            model=ctx.model_used,
            request_id=ctx.request_id,
            source=ImageSource.RESPONSES_TOOL,
            provider=ctx.provider,
            size=call.size or "",
            quality=call.quality or "",
            revised_prompt=call.revised_prompt or "",
        )
    except NotAnImage:
        # Not stored, so no link; the caller still gets the upstream's result as it came.
        logger.warning(
            "%s: %s sent an image_generation result that is not an image", ctx.request_id, ctx.provider
        )
        return
    signed = await asyncio.to_thread(generated_image_url, image=image, base_url=state.base_url)
    call.url = signed.url
    state.image_ids.append(image.public_id)
