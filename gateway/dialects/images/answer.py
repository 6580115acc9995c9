"""An image job's result -> what the client reads: the SDK's ``ImagesResponse``
(``created``, ``data[{url | b64_json, revised_prompt}]``, ``usage`` where the
upstream reported it, the shape fields) plus Junction's ``cost``,
``usage.cost``, ``x_request_id``, ``provider``; and the streamed events."""

from __future__ import annotations

import base64
from typing import Any

from files.models import GeneratedImage

# One rendered image: (url or None, bytes or None).
Rendered = tuple[str | None, bytes | None]


def images_response(result: dict[str, Any], rendered: list[Rendered], *, job_id: str) -> dict[str, Any]:
    data = []
    for image, (url, raw) in zip(result["images"], rendered, strict=True):
        item: dict[str, Any] = (
            {"url": url} if url is not None else {"b64_json": base64.b64encode(raw or b"").decode()}
        )
        item["revised_prompt"] = image.get("revised_prompt")
        item["id"] = image["id"]  # Junction's: the generated image's id
        data.append(item)
    body: dict[str, Any] = {"created": result["created"], "data": data}
    for name in ("size", "quality", "background", "output_format"):
        if result.get(name) is not None:
            body[name] = result[name]
    if result.get("usage") is not None:
        body["usage"] = {**result["usage"], **result.get("usage_fields", {})}
    body.update(result.get("fields", {}))
    body["job_id"] = job_id
    return body


def completed_events(
    result: dict[str, Any],
    images: list[GeneratedImage],
    raw: list[bytes],
    urls: list[str | None],
    *,
    operation: str,
) -> list[dict[str, Any]]:
    """``image_generation.completed`` (``image_edit.completed``) per image, as
    the SDK's ``ImageGenCompletedEvent`` has it (``b64_json`` always), with the
    signed ``url`` and Junction's fields."""
    prefix = "image_generation" if operation == "generations" else "image_edit"
    usage = result.get("usage") or {
        "input_tokens": 0,
        "input_tokens_details": {"text_tokens": 0, "image_tokens": 0},
        "output_tokens": 0,
        "total_tokens": 0,
    }
    events = []
    for index, (image, data) in enumerate(zip(images, raw, strict=True)):
        event: dict[str, Any] = {
            "type": f"{prefix}.completed",
            "b64_json": base64.b64encode(data).decode(),
            "created_at": result["created"],
            "size": result.get("size") or image.size or "auto",
            "quality": result.get("quality") or image.quality or "auto",
            "background": result.get("background") or "auto",
            "output_format": result.get("output_format") or image.file.content_type.split("/")[-1],
            "usage": {**usage, **result.get("usage_fields", {})} if index == len(images) - 1 else usage,
            "id": image.public_id,
        }
        if urls[index] is not None:
            event["url"] = urls[index]
        if index == len(images) - 1:
            event.update(result.get("fields", {}))
        events.append(event)
    return events
