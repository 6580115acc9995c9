"""Generated images: storing what a model made, and reading it back.

Both image surfaces use this: the images API (``/v1/images/generations`` and
``/edits``, source ``images_api``) and the ``image_generation`` tool on
``/v1/responses`` (source ``responses_tool``). The bytes go to blob storage as
a ``File`` (purpose ``vision``, type sniffed from the bytes); the
``GeneratedImage`` row records the prompt, model, size, quality and cost.
``generated_image_url`` gives a signed link that needs no auth header.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from files.models import FilePurpose, GeneratedImage, ImageSource
from files.services import SignedUrl, file_create_from_bytes, file_delete, file_signed_url
from files.sniff import IMAGE_TYPES, magic_type

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp", "image/gif": "gif"}


class NotAnImage(ValueError):
    """The upstream's bytes are not PNG, JPEG, WebP or GIF."""


def new_image_id(now: float | None = None) -> str:
    """``img_`` + creation time in ms (12 hex digits) + 48 random bits: ids sort by creation."""
    ms = int((time.time() if now is None else now) * 1000)
    return f"img_{ms:012x}{secrets.token_hex(6)}"


def generated_image_store(
    *,
    workspace_id: int,
    data: bytes,
    mime: str = "",
    prompt: str,
    model: str,
    request_id: str,
    source: str = ImageSource.IMAGES_API,
    provider: str = "",
    size: str = "",
    quality: str = "",
    revised_prompt: str = "",
    cost_units: int = 0,
) -> GeneratedImage:
    """Store one generated image and record it. ``mime`` is the upstream's
    claim; the stored type is sniffed from ``data`` (``NotAnImage`` when the
    bytes are no image). The prompt is cut to ``GeneratedImage.PROMPT_MAX``."""
    sniffed = magic_type(data[:64])
    if sniffed not in IMAGE_TYPES:
        raise NotAnImage(f"the upstream answered {len(data)} bytes that are not an image (claimed {mime!r})")
    assert sniffed is not None
    public_id = new_image_id()
    file = file_create_from_bytes(
        workspace_id=workspace_id,
        purpose=FilePurpose.VISION,
        filename=f"{public_id}.{_EXTENSIONS.get(sniffed, 'bin')}",
        data=data,
        content_type=sniffed,
    )
    try:
        return GeneratedImage.objects.create(
            public_id=public_id,
            workspace_id=workspace_id,
            file=file,
            request_id=request_id,
            source=source,
            model=model[:200],
            provider=provider[:64],
            prompt=prompt[: GeneratedImage.PROMPT_MAX],
            revised_prompt=revised_prompt[: GeneratedImage.PROMPT_MAX],
            size=size[:32],
            quality=quality[:16],
            cost_units=cost_units,
            created_at=timezone.now(),
        )
    except BaseException:
        file_delete(file=file)
        raise


@transaction.atomic
def generated_images_set_cost(*, image_ids: list[int], total_units: int) -> None:
    """Split a call's charge over its images (the remainder goes to the first ones)."""
    if not image_ids:
        return
    share, rest = divmod(max(total_units, 0), len(image_ids))
    for index, pk in enumerate(sorted(image_ids)):
        GeneratedImage.objects.filter(pk=pk).update(cost_units=share + (1 if index < rest else 0))


def generated_image_url(*, image: GeneratedImage, base_url: str, ttl: int | None = None) -> SignedUrl:
    """A signed link to the image's bytes (S3 presigned, or Junction's own)."""
    return file_signed_url(file=image.file, base_url=base_url, ttl=ttl)


@dataclass(frozen=True, slots=True)
class GeneratedImagePage:
    images: list[GeneratedImage]
    page: int
    has_more: bool


def generated_images_page(*, workspace_id: int, page: int = 1, per_page: int = 24) -> GeneratedImagePage:
    """The workspace's images, newest first, one page (1-based) at a time."""
    page = max(page, 1)
    start = (page - 1) * per_page
    rows = list(
        GeneratedImage.objects.filter(workspace_id=workspace_id)
        .select_related("file")
        .order_by("-created_at", "-id")[start : start + per_page + 1]
    )
    return GeneratedImagePage(images=rows[:per_page], page=page, has_more=len(rows) > per_page)


def generated_images_get(*, workspace_id: int, public_ids: list[str]) -> list[GeneratedImage]:
    """The workspace's images among ``public_ids``, in the order asked."""
    rows = {
        g.public_id: g
        for g in GeneratedImage.objects.filter(
            workspace_id=workspace_id, public_id__in=public_ids
        ).select_related("file")
    }
    return [rows[p] for p in public_ids if p in rows]
