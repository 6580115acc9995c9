"""Gemini's image models (``gemini-2.5-flash-image`` and kin) serving the
images API: one ``generateContent`` call with image output.

Pure. The prompt (and, for an edit, the input images as ``inlineData``
parts) goes in one user turn; ``generationConfig.responseModalities`` asks
for ``TEXT`` and ``IMAGE``, ``imageConfig.aspectRatio`` carries the size.
The answer's ``inlineData`` parts are the images; its text parts become the
answer's ``revised_prompt`` (what the model said about the image).
Gemini does not stream images: ``stream`` is refused by the parameter table.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from gateway.canonical_images import ImageAnswer, ImageOut, ImageRequest, ImageUsage
from gateway.dialects.images.params import gemini_aspect_ratio
from gateway.providers.base import ImageCodec, UpstreamRequest
from gateway.providers.gemini.response import map_error, usage_from


def build_image_request(
    req: ImageRequest, *, upstream_model: str, base_url: str, api_key: str, provider_kind: str = "gemini"
) -> UpstreamRequest:
    parts: list[dict[str, Any]] = [{"text": req.prompt}]
    for image in req.images:
        parts.append(
            {"inlineData": {"mimeType": image.content_type, "data": base64.b64encode(image.data).decode()}}
        )
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if req.size not in (None, "auto"):
        assert req.size is not None
        config["imageConfig"] = {"aspectRatio": gemini_aspect_ratio(req.size)}
    body = {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}
    headers = {"content-type": "application/json"}
    if api_key:
        headers["x-goog-api-key"] = api_key
    return UpstreamRequest(
        url=f"{base_url.rstrip('/')}/models/{upstream_model}:generateContent",
        body=msgspec.json.encode(body),
        headers=headers,
    )


def parse_image_answer(body: bytes) -> ImageAnswer:
    """A ``GenerateContentResponse``; its ``inlineData`` image parts are the images."""
    raw = msgspec.json.decode(body)
    if not isinstance(raw, dict):
        raise ValueError("not a generateContent answer")
    images: list[ImageOut] = []
    texts: list[str] = []
    for candidate in raw.get("candidates") or ():
        content = candidate.get("content") if isinstance(candidate, dict) else None
        for part in (content or {}).get("parts") or ():
            if not isinstance(part, dict):
                continue
            inline = part.get("inlineData") or part.get("inline_data")
            if isinstance(inline, dict):
                mime = str(inline.get("mimeType") or inline.get("mime_type") or "")
                if not mime.startswith("image/"):
                    continue
                try:
                    data = base64.b64decode(str(inline.get("data") or ""), validate=True)
                except binascii.Error:
                    raise ValueError("an image part that is not base64") from None
                images.append(ImageOut(data=data, mime=mime))
            elif isinstance(part.get("text"), str) and not part.get("thought"):
                texts.append(part["text"])
    usage = usage_from(raw.get("usageMetadata"))
    text = "".join(texts).strip()
    revised = text or None
    return ImageAnswer(
        images=[ImageOut(data=i.data, mime=i.mime, revised_prompt=revised) for i in images],
        usage=ImageUsage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
        if usage.input_tokens or usage.output_tokens
        else None,
        text=text,
    )


def blocked_reason(body: bytes) -> str | None:
    """Why Gemini made no image (a safety block, a finish reason), when it says."""
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    feedback = raw.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        return f"the prompt was blocked ({feedback['blockReason']})"
    for candidate in raw.get("candidates") or ():
        if isinstance(candidate, dict) and candidate.get("finishReason") not in (None, "STOP"):
            return f"generation stopped ({candidate['finishReason']})"
    return None


CODEC = ImageCodec(
    build_request=build_image_request,
    parse_answer=parse_image_answer,
    stream_decoder=None,
    map_error=map_error,
)
