"""OpenAI's images API (``/images/generations`` JSON, ``/images/edits``
multipart), also what OpenAI-compatible servers speak for images.

Pure: canonical ``ImageRequest`` -> ``UpstreamRequest``; the JSON answer or
the SSE stream (``image_generation.*`` / ``image_edit.*`` events) -> the
canonical image answer and events. Images are always asked for as base64
(``response_format="b64_json"`` for DALL-E and compatible servers; GPT image
models answer base64 only): Junction stores them and answers ``url`` or
``b64_json`` itself.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

import msgspec

from gateway.canonical_images import (
    ImageAnswer,
    ImageCompleted,
    ImageEvent,
    ImageOut,
    ImageRequest,
    ImageStreamError,
    ImageUsage,
    InputImage,
    PartialImage,
)
from gateway.dialects.images.params import Family, family_of
from gateway.providers.base import ImageCodec, UpstreamRequest
from gateway.providers.openai.wire import auth_headers, map_error
from gateway.sse import SSEParser

# name on the canonical request -> name on the wire, sent when set
_FORWARDED = (
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "partial_images",
    "style",
    "input_fidelity",
)


def _fields(req: ImageRequest, *, upstream_model: str, family: Family) -> dict[str, Any]:
    body: dict[str, Any] = {"model": upstream_model, "prompt": req.prompt}
    for name in _FORWARDED:
        value = getattr(req, name)
        if name in req.given and value is not None and name in family.params:
            body[name] = value
    if req.stream:
        body["stream"] = True
    if req.user and family.name != "gemini":
        body["user"] = req.user
    if family.name != "gpt-image":
        body["response_format"] = "b64_json"
    return body


def build_image_request(
    req: ImageRequest, *, upstream_model: str, base_url: str, api_key: str, provider_kind: str = "openai"
) -> UpstreamRequest:
    family = family_of(provider_kind, upstream_model)
    fields = _fields(req, upstream_model=upstream_model, family=family)
    headers = auth_headers(api_key)
    root = base_url.rstrip("/")
    if req.operation == "generations":
        headers["content-type"] = "application/json"
        return UpstreamRequest(
            url=f"{root}/images/generations",
            body=msgspec.json.encode(fields),
            headers=headers,
            stream=req.stream,
        )
    body, content_type = multipart_body(fields, req.images, req.mask)
    headers["content-type"] = content_type
    return UpstreamRequest(url=f"{root}/images/edits", body=body, headers=headers, stream=req.stream)


def multipart_body(
    fields: dict[str, Any], images: list[InputImage], mask: InputImage | None
) -> tuple[bytes, str]:
    """The edit as OpenAI's SDK sends it: text fields, then ``image`` (one) or
    ``image[]`` (several), then ``mask``."""
    boundary = f"junction-{secrets.token_hex(12)}"
    out: list[bytes] = []
    for name, value in fields.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        out.append(
            f'--{boundary}\r\ncontent-disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'.encode()
        )
    name = "image" if len(images) == 1 else "image[]"
    parts = [(name, image) for image in images] + ([("mask", mask)] if mask is not None else [])
    for field_name, image in parts:
        filename = image.filename.replace('"', "").replace("\r", "").replace("\n", "") or "image"
        out.append(
            (
                f'--{boundary}\r\ncontent-disposition: form-data; name="{field_name}"; '
                f'filename="{filename}"\r\ncontent-type: {image.content_type}\r\n\r\n'
            ).encode()
            + image.data
            + b"\r\n"
        )
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def usage_of(raw: Any) -> ImageUsage | None:
    if not isinstance(raw, dict):
        return None
    details = raw.get("input_tokens_details") if isinstance(raw.get("input_tokens_details"), dict) else {}

    def num(d: Any, key: str) -> int:
        value = d.get(key) if isinstance(d, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return ImageUsage(
        input_tokens=num(raw, "input_tokens"),
        output_tokens=num(raw, "output_tokens"),
        input_text_tokens=num(details, "text_tokens"),
        input_image_tokens=num(details, "image_tokens"),
    )


def _b64(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise ValueError("an image without b64_json")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("an image whose b64_json is not base64") from None


def _opt(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None


def parse_image_answer(body: bytes) -> ImageAnswer:
    """An ``ImagesResponse``; ``ValueError`` when it is not one."""
    raw = msgspec.json.decode(body)
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise ValueError("not an images answer")
    images = []
    for item in raw["data"]:
        if not isinstance(item, dict):
            raise ValueError("an image that is not an object")
        revised = item.get("revised_prompt")
        images.append(
            ImageOut(
                data=_b64(item.get("b64_json")), revised_prompt=revised if isinstance(revised, str) else None
            )
        )
    created = raw.get("created")
    return ImageAnswer(
        images=images,
        usage=usage_of(raw.get("usage")),
        created=created if isinstance(created, int) else 0,
        size=_opt(raw, "size"),
        quality=_opt(raw, "quality"),
        background=_opt(raw, "background"),
        output_format=_opt(raw, "output_format"),
    )


class ImageStreamDecoder:
    """The images API's SSE stream -> ``PartialImage`` / ``ImageCompleted`` /
    ``ImageStreamError`` (chunks may split anywhere)."""

    def __init__(self) -> None:
        self._sse = SSEParser()

    def feed(self, chunk: bytes) -> list[ImageEvent]:
        return [e for block in self._sse.feed(chunk) if (e := _event(block.data)) is not None]

    def close(self) -> list[ImageEvent]:
        return [e for block in self._sse.close() if (e := _event(block.data)) is not None]


def _event(data: str) -> ImageEvent | None:
    if not data or data == "[DONE]":
        return None
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return ImageStreamError("The upstream sent an unreadable stream event.")
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    shape = {
        "size": _opt(raw, "size"),
        "quality": _opt(raw, "quality"),
        "background": _opt(raw, "background"),
        "output_format": _opt(raw, "output_format"),
    }
    if kind in ("image_generation.partial_image", "image_edit.partial_image"):
        index = raw.get("partial_image_index")
        b64 = raw.get("b64_json")
        if not isinstance(b64, str):
            return ImageStreamError("The upstream sent a partial image without b64_json.")
        return PartialImage(b64_json=b64, index=index if isinstance(index, int) else 0, **shape)
    if kind in ("image_generation.completed", "image_edit.completed"):
        try:
            image = ImageOut(data=_b64(raw.get("b64_json")))
        except ValueError as exc:
            return ImageStreamError(f"The upstream sent a broken image: {exc}.")
        return ImageCompleted(image=image, usage=usage_of(raw.get("usage")), **shape)
    if kind == "error" or "error" in raw:
        err = raw.get("error") if isinstance(raw.get("error"), dict) else raw
        message = err.get("message") if isinstance(err, dict) else None
        code = err.get("code") if isinstance(err, dict) else None
        return ImageStreamError(
            str(message or "The upstream failed while streaming."), code if isinstance(code, str) else None
        )
    return None


CODEC = ImageCodec(
    build_request=build_image_request,
    parse_answer=parse_image_answer,
    stream_decoder=ImageStreamDecoder,
    map_error=map_error,
)
