"""OpenAI's images API, faked on the real wire: ``POST /v1/images/generations``
(JSON) and ``/v1/images/edits`` (multipart: ``image`` or ``image[]``,
``mask``, text fields), answered as ``ImagesResponse`` JSON (GPT image models:
``b64_json`` with ``usage``, ``size``, ``quality``...; DALL-E: ``b64_json``
with ``revised_prompt``, no usage), or with ``stream=true`` as SSE
(``image_generation.partial_image`` x ``partial_images``, then
``image_generation.completed``; edits ``image_edit.*``).

Markers in the prompt: ``[[500]]`` a server error, ``[[400]]`` OpenAI's
content-policy refusal, ``[[hold]]`` wait for ``release`` before answering,
``[[notimage]]`` an answer whose base64 is not an image.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.fakes.asgi import Recorded, send_json
from tests.files import samples

USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
    "output_tokens": 4160,
    "total_tokens": 4210,
}


def image_bytes(index: int) -> bytes:
    """A distinct valid PNG per index (a tEXt chunk names it)."""
    png = samples.PNG
    end = png.rindex(b"IEND") - 4
    text = samples._chunk(b"tEXt", b"Comment\x00image " + str(index).encode())
    return png[:end] + text + png[end:]


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class FakeImages:
    release: threading.Event = field(default_factory=threading.Event)
    answered: int = 0  # images answered (a call that was paid for upstream)

    def reset(self) -> None:
        self.release.clear()
        self.answered = 0


def parse_multipart(recorded: Recorded) -> list[Part]:
    content_type = recorded.headers["content-type"]
    message = BytesParser(policy=HTTP).parsebytes(
        f"content-type: {content_type}\r\n\r\n".encode() + recorded.raw
    )
    parts = []
    for part in message.iter_parts():
        parts.append(
            Part(
                name=str(part.get_param("name", header="content-disposition")),
                filename=part.get_filename(),
                content_type=part.get_content_type(),
                data=part.get_payload(decode=True) or b"",
            )
        )
    return parts


def fields_of(recorded: Recorded) -> tuple[dict[str, Any], list[Part]]:
    if not recorded.headers.get("content-type", "").startswith("multipart/"):
        return recorded.body, []
    parts = parse_multipart(recorded)
    fields: dict[str, Any] = {p.name: p.data.decode() for p in parts if p.filename is None}
    for name in ("n", "partial_images", "output_compression"):
        if name in fields:
            fields[name] = int(fields[name])
    if "stream" in fields:
        fields["stream"] = fields["stream"] == "true"
    return fields, [p for p in parts if p.filename is not None]


def _error(
    status: int, message: str, kind: str, code: str | None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


async def answer(fake: FakeImages, send: Any, recorded: Recorded) -> None:
    edit = recorded.path.endswith("/images/edits")
    body, files = fields_of(recorded)
    prompt = str(body.get("prompt", ""))
    model = str(body.get("model", ""))
    if "[[500]]" in prompt:
        return await send_json(send, 500, _error(500, "fake 500", "server_error", "server_error"))
    if "[[400]]" in prompt:
        return await send_json(
            send,
            400,
            _error(
                400,
                "Your request was rejected as a result of our safety system.",
                "invalid_request_error",
                "content_policy_violation",
            ),
        )
    if edit and not any(p.name in ("image", "image[]") for p in files):
        return await send_json(
            send, 400, _error(400, "Missing image", "invalid_request_error", "missing", "image")
        )
    if "[[hold]]" in prompt:
        await asyncio.to_thread(fake.release.wait, 20)
    n = int(body.get("n") or 1)
    dalle = model.startswith("dall-e")
    if dalle and body.get("response_format") != "b64_json":
        data = [{"url": "https://oaidalleapiprodscus.blob.core.windows.net/fake.png"} for _ in range(n)]
        return await send_json(send, 200, {"created": int(time.time()), "data": data})
    images = [image_bytes(i) for i in range(n)]
    if "[[notimage]]" in prompt:
        images = [b"<html>not an image</html>"] * n
    fake.answered += n
    shape = {
        "size": body.get("size") if body.get("size") not in (None, "auto") else "1024x1024",
        "quality": body.get("quality") if body.get("quality") not in (None, "auto") else "medium",
        "background": "opaque",
        "output_format": body.get("output_format") or "png",
    }
    if body.get("stream"):
        return await _stream(send, images[0], shape, int(body.get("partial_images") or 0), edit)
    if dalle:
        answer_body: dict[str, Any] = {
            "created": int(time.time()),
            "data": [
                {"b64_json": base64.b64encode(img).decode(), "revised_prompt": f"A vivid scene: {prompt}"}
                for img in images
            ],
        }
    else:
        answer_body = {
            "created": int(time.time()),
            "data": [{"b64_json": base64.b64encode(img).decode()} for img in images],
            **shape,
            "usage": USAGE,
        }
    await send_json(send, 200, answer_body)


async def _stream(send: Any, image: bytes, shape: dict[str, Any], partials: int, edit: bool) -> None:
    prefix = "image_edit" if edit else "image_generation"
    frames = []
    for index in range(partials):
        event = {
            "type": f"{prefix}.partial_image",
            "b64_json": base64.b64encode(image_bytes(100 + index)).decode(),
            "created_at": int(time.time()),
            "partial_image_index": index,
            **shape,
        }
        frames.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
    done = {
        "type": f"{prefix}.completed",
        "b64_json": base64.b64encode(image).decode(),
        "created_at": int(time.time()),
        "usage": USAGE,
        **shape,
    }
    frames.append(f"event: {done['type']}\ndata: {json.dumps(done)}\n\n".encode())
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
    )
    data = b"".join(frames)
    for start in range(0, len(data), 7):  # split anywhere
        await send({"type": "http.response.body", "body": data[start : start + 7], "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
