"""A chat message as an ordinary /v1 call.

The chat app is a client of Junction's own chat-completions API, in-process:
it builds the request body from the conversation, hands it to
``gateway.pipeline.model_call`` acting with the member's chat key (so the call
is authenticated, limited, firewalled, routed, reserved, charged and logged
like any API call), streams the answer's SSE bytes to the browser as they
arrive, and keeps a copy of the text for the conversation."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from chat.models import Message, MessageRole, MessageStatus
from chat.services import answer_finish
from files.models import File
from files.storage import blob_read
from gateway import pipeline
from gateway.dialects import chat as chat_dialect
from gateway.relay import RelayStream

logger = logging.getLogger("junction.chat")

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PDF_TYPE = "application/pdf"


def _data_url(file: File) -> str:
    return f"data:{file.content_type};base64,{base64.b64encode(blob_read(file.storage_key)).decode('ascii')}"


def _content(message: Message, files: dict[str, File]) -> str | list[dict[str, Any]]:
    attached = [files[fid] for fid in message.attachments if fid in files]
    if not attached:
        return message.content
    parts: list[dict[str, Any]] = []
    if message.content:
        parts.append({"type": "text", "text": message.content})
    for file in attached:
        if file.content_type in IMAGE_TYPES:
            parts.append({"type": "image_url", "image_url": {"url": _data_url(file)}})
        else:
            parts.append({"type": "file", "file": {"filename": file.filename, "file_data": _data_url(file)}})
    return parts


def request_body(*, model: str, history: list[Message], workspace_id: int) -> bytes:
    """The chat-completions request for the next answer (attachments inline,
    read from blob storage)."""
    wanted = [fid for m in history for fid in m.attachments]
    files = {
        f.public_id: f
        for f in File.objects.filter(workspace_id=workspace_id, public_id__in=wanted, status="processed")
    }
    messages = [
        {"role": m.role, "content": _content(m, files)}
        for m in history
        if m.role == MessageRole.USER or (m.status != MessageStatus.FAILED and m.content)
    ]
    body = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    return msgspec.json.encode(body)


def internal_request(*, body: bytes, client_ip: str | None, user_agent: str) -> HttpRequest:
    """The HttpRequest the pipeline reads: a JSON body and a few headers."""
    request = HttpRequest()
    request.method = "POST"
    request.path = "/v1/chat/completions"
    request._body = body  # type: ignore[attr-defined]  # what Django's request.body returns
    request.META = {
        "REMOTE_ADDR": client_ip or "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "HTTP_USER_AGENT": f"junction-chat ({user_agent[:200]})",
    }
    return request


@dataclass(slots=True)
class AnswerText:
    """The text of a chat-completions SSE stream, collected as it passes."""

    text: list[str] = field(default_factory=list)
    error: str = ""
    _buffer: bytes = b""

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        *events, self._buffer = self._buffer.split(b"\n\n")
        for event in events:
            for line in event.split(b"\n"):
                if line.startswith(b"data:"):
                    self._data(line[5:].strip())

    def _data(self, data: bytes) -> None:
        if not data or data == b"[DONE]":
            return
        try:
            payload = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return
        if not isinstance(payload, dict):
            return
        if isinstance(payload.get("error"), dict):
            self.error = str(payload["error"].get("message") or "The model failed to answer.")
            return
        for choice in payload.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                self.text.append(delta["content"])


async def relay_answer(
    chunks: AsyncGenerator[bytes, None], *, answer_id: int, request_id: str
) -> AsyncGenerator[bytes, None]:
    """Pass the answer's bytes on as they come and store its text at the end,
    also when the browser goes away (Stop, a closed tab): the relay is told
    the client left, exactly as the /v1 handler tells it, so the upstream call
    is cancelled and what was produced is charged."""
    collected = AnswerText()
    status = MessageStatus.STOPPED
    try:
        async for chunk in chunks:  # a cancel while waiting here reaches the relay itself
            collected.feed(chunk)
            try:
                yield chunk
            except (GeneratorExit, asyncio.CancelledError):
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await chunks.athrow(asyncio.CancelledError())
                raise
        status = MessageStatus.FAILED if collected.error else MessageStatus.COMPLETE
    finally:
        await chunks.aclose()
        save = sync_to_async(answer_finish)(
            answer_id=answer_id,
            content="".join(collected.text),
            status=status,
            request_id=request_id,
            error=collected.error,
        )
        # Saved even when this task is being cancelled (the browser left).
        await asyncio.shield(save)


async def answer(
    *, body: bytes, key_hash: str, answer_id: int, client_ip: str | None, user_agent: str
) -> HttpResponse:
    """Run the call; a stream goes to the browser, an error (402, 429, a
    firewall block…) comes back as the OpenAI-shaped JSON the pipeline made."""
    request = internal_request(body=body, client_ip=client_ip, user_agent=user_agent)
    response = await pipeline.model_call(
        request, dialect=chat_dialect, endpoint="chat.completions", key_hash=key_hash
    )
    request_id = response.get("x-request-id", "")
    if isinstance(response, RelayStream):
        stream = StreamingHttpResponse(
            relay_answer(response.chunks, answer_id=answer_id, request_id=request_id),
            content_type="text/event-stream",
        )
        stream["Cache-Control"] = "no-cache"
        stream["X-Accel-Buffering"] = "no"
        stream["x-request-id"] = request_id
        stream["x-chat-message-id"] = str(answer_id)
        return stream
    error = _error_message(response.content)
    await sync_to_async(answer_finish)(
        answer_id=answer_id, content="", status=MessageStatus.FAILED, request_id=request_id, error=error
    )
    response["x-chat-message-id"] = str(answer_id)
    return response


def _error_message(content: bytes) -> str:
    try:
        payload = msgspec.json.decode(content)
        return str(payload["error"]["message"])
    except (msgspec.DecodeError, KeyError, TypeError):
        return "The call failed."
