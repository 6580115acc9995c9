"""The built-in demo upstream: an echo model that speaks OpenAI's chat
completions wire (JSON and SSE, with usage), so the quickstart answers with no
provider key at all.

It is an ordinary upstream to the rest of Junction: the catalog's ``demo``
provider (kind ``openai_compatible``, model ``junction-demo``, priced at zero)
points at ``/demo-upstream/v1`` on this server, and calls to it go through the
whole pipeline (routing, translation for /v1/responses and /v1/messages,
billing, logs). It answers only while ``settings.DEMO_PROVIDER`` is on: by
default when no provider key is set, and never in the production shape.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

DEMO_MODEL = "junction-demo"
EMPTY_PROMPT_REPLY = "Hello from Junction's demo model! Set a provider key to reach a real one."


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def reply_for(messages: list[Any]) -> str:
    """Echo the last user message back."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            text = _text(message.get("content")).strip()
            if text:
                return f"Echo: {text}"
    return EMPTY_PROMPT_REPLY


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _usage(messages: list[Any], pieces: list[str]) -> dict[str, int]:
    prompt = sum(_tokens(_text(m.get("content"))) for m in messages if isinstance(m, dict))
    completion = len(pieces)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _pieces(reply: str) -> list[str]:
    words = reply.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _error(status: int, message: str) -> JsonResponse:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    return JsonResponse(body, status=status)


@csrf_exempt
@require_POST
def chat_completions(request: HttpRequest) -> HttpResponseBase:
    if not settings.DEMO_PROVIDER:
        return _error(404, "The demo upstream is off (a provider is configured, or this is production).")
    try:
        body = msgspec.json.decode(request.body)
    except msgspec.DecodeError:
        return _error(400, "The body is not JSON.")
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return _error(400, "'messages' is required.")
    pieces = _pieces(reply_for(messages))
    usage = _usage(messages, pieces)
    base = {
        "id": f"chatcmpl-demo{uuid.uuid4().hex[:20]}",
        "created": int(time.time()),
        "model": str(body.get("model") or DEMO_MODEL),
        "system_fingerprint": "junction-demo",
    }
    if not body.get("stream"):
        message = {"role": "assistant", "content": "".join(pieces), "refusal": None}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
        return JsonResponse({**base, "object": "chat.completion", "choices": [choice], "usage": usage})
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    response = StreamingHttpResponse(
        _stream(base, pieces, usage, include_usage), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    return response


def _stream(
    base: dict[str, Any], pieces: list[str], usage: dict[str, int], include_usage: bool
) -> Iterator[bytes]:
    chunk = {**base, "object": "chat.completion.chunk"}

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return b"data: " + msgspec.json.encode({**chunk, "choices": choices, **extra}) + b"\n\n"

    tail = {"usage": None} if include_usage else {}
    yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}], **tail)
    for piece in pieces:
        yield event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}], **tail)
    yield event([{"index": 0, "delta": {}, "finish_reason": "stop"}], **tail)
    if include_usage:
        yield event([], usage=usage)
    yield b"data: [DONE]\n\n"
