"""A fake Gemini upstream speaking the real wire format:
``/v1beta/models/{model}:generateContent`` (JSON) and
``:streamGenerateContent?alt=sse`` (``data:`` frames separated by CRLF CRLF,
no terminator), ``usageMetadata``, Google's error bodies.

Markers in the last user text:

``[[429]]`` ``[[503]]``  RESOURCE_EXHAUSTED / UNAVAILABLE
``[[ctx]]``            400 "input token count exceeds the maximum"
``[[tool]]``           a functionCall of the first declared function (with a thoughtSignature)
``[[think]]``          a thought part before the text
``[[image]]``          with ``responseModalities`` IMAGE asked: a text part, then an ``inlineData``
                       PNG part (``IMAGE_PNG``)
``[[search]]``         with ``googleSearch`` declared: ``groundingMetadata`` on the (last) candidate,
                       a support on "héllo 🌍" in UTF-8 byte offsets (``grounding``)
A ``functionResponse`` as the last user part gets "Tool said: <response>";
``responseMimeType: application/json`` answers ``JSON_REPLY`` as text.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.asgi import Recorded, read_request, send_json
from tests.fakes.openai_images import image_bytes
from tests.fakes.openai_upstream import IMAGE_PNG
from tests.fakes.upstream_files import GeminiFiles

REPLY = "Hello from fake Gemini! héllo 🌍 done."
JSON_REPLY = {"city": "Paris", "temperature": 21}
SIGNATURE = "CiQB0e2Kb3Jz-fake-thought-signature"
USAGE = {
    "promptTokenCount": 30,
    "cachedContentTokenCount": 4,
    "candidatesTokenCount": 10,
    "thoughtsTokenCount": 6,
    "totalTokenCount": 46,
}


SEARCH_QUERIES = ["fake gemini greeting", "héllo meaning"]
SEARCH_CHUNKS = [
    {
        "web": {
            "uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbC1",
            "title": "example.com",
        }
    },
    {
        "web": {
            "uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/DeF2",
            "title": "example.org",
        }
    },
]


def grounding(reply: str) -> dict[str, Any]:
    """Google Search grounding as Gemini reports it; segment offsets are UTF-8 bytes."""
    start = reply.find("héllo")
    segment_text = "héllo 🌍"
    byte_start = len(reply[:start].encode())
    return {
        "webSearchQueries": SEARCH_QUERIES,
        "searchEntryPoint": {"renderedContent": "<div>search chips</div>"},
        "groundingChunks": SEARCH_CHUNKS,
        "groundingSupports": [
            {
                "segment": {
                    "startIndex": byte_start,
                    "endIndex": byte_start + len(segment_text.encode()),
                    "text": segment_text,
                },
                "groundingChunkIndices": [0, 1],
                "confidenceScores": [0.9, 0.7],
            }
        ],
    }


@dataclass
class FakeGemini:
    split: int = 9
    reply: str = REPLY
    requests: list[Recorded] = field(default_factory=list)
    files: GeminiFiles = field(default_factory=GeminiFiles)  # the Files API (tests/fakes/upstream_files.py)

    def reset(self) -> None:
        self.files.reset()
        self.requests.clear()
        self.split = 9
        self.reply = REPLY

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"].startswith("/upload/v1beta/files"):
            return await self.files.upload(scope, receive, send)
        recorded = await read_request(scope, receive)
        headers, body = recorded.headers, recorded.body
        path, query = recorded.path, recorded.query
        self.requests.append(recorded)
        if not headers.get("x-goog-api-key"):
            return await _error(send, 403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        model, _, action = path.removeprefix("/v1beta/models/").partition(":")
        if action not in ("generateContent", "streamGenerateContent"):
            return await _error(send, 404, "NOT_FOUND", f"Unknown path {path}")
        for gone in self.files.missing(body, headers.get("host", "")):
            message = f"You do not have permission to access the File {gone} or it may not exist."
            return await _error(send, 403, "PERMISSION_DENIED", message)
        text = _last_user_text(body)
        if "[[429]]" in text:
            return await _error(
                send, 429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."
            )
        if "[[503]]" in text:
            return await _error(send, 503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        if "[[ctx]]" in text:
            message = (
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
            )
            return await _error(send, 400, "INVALID_ARGUMENT", message)
        if "image" in model and action == "generateContent" and "[[image]]" not in text:
            return await send_json(send, 200, _image_response(model, body))
        parts = self._parts(body, text)
        searched = "[[search]]" in text and any("googleSearch" in t for t in body.get("tools") or [])
        meta = grounding(self.reply) if searched else None
        if action == "generateContent":
            answer = _response(model, parts, "STOP", USAGE, meta)
            return await send_json(send, 200, answer)
        if query != "alt=sse":
            return await _error(send, 400, "INVALID_ARGUMENT", "this fake only streams with alt=sse")
        chunks = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            chunk = _response(
                model, [part], "STOP" if last else None, USAGE if last else None, meta if last else None
            )
            chunks.append(b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\r\n\r\n")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        data = b"".join(chunks)
        for i in range(0, len(data), self.split):
            await send({"type": "http.response.body", "body": data[i : i + self.split], "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def _parts(self, body: dict[str, Any], text: str) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if "[[think]]" in text:
            parts.append({"text": "Thinking about it…", "thought": True})
        result = _last_function_response(body)
        if result is not None:
            return [*parts, {"text": f"Tool said: {json.dumps(result)}"}]
        if (body.get("generationConfig") or {}).get("responseMimeType") == "application/json":
            return [*parts, {"text": json.dumps(JSON_REPLY)}]
        decls = [d for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []]
        if "[[tool]]" in text and decls:
            call = {
                "functionCall": {"name": decls[0]["name"], "args": {"city": "Paris"}},
                "thoughtSignature": SIGNATURE,
            }
            return [*parts, call]
        modalities = (body.get("generationConfig") or {}).get("responseModalities") or []
        if "[[image]]" in text and "IMAGE" in modalities:
            image = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(IMAGE_PNG).decode()}}
            return [*parts, {"text": "Here is your pixel."}, image]
        words = self.reply.split(" ")
        return parts + [{"text": w + (" " if i < len(words) - 1 else "")} for i, w in enumerate(words)]


def _response(
    model: str,
    parts: list[dict[str, Any]],
    finish: str | None,
    usage: dict[str, int] | None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if meta is not None:
        candidate["groundingMetadata"] = meta
    if finish:
        candidate["finishReason"] = finish
    out: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "responseId": "fakeResp123"}
    if usage:
        out["usageMetadata"] = usage
    return out


def _last_user_text(body: dict[str, Any]) -> str:
    for content in reversed(body.get("contents") or []):
        if content.get("role") == "user":
            return " ".join(p.get("text", "") for p in content.get("parts") or [])
    return ""


def _last_function_response(body: dict[str, Any]) -> Any:
    contents = body.get("contents") or []
    if not contents or contents[-1].get("role") != "user":
        return None
    for part in contents[-1].get("parts") or []:
        if "functionResponse" in part:
            return part["functionResponse"]["response"]
    return None


async def _error(send: Any, status: int, kind: str, message: str) -> None:
    await send_json(send, status, {"error": {"code": status, "message": message, "status": kind}})


IMAGE_USAGE = {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302}


def _image_response(model: str, body: dict[str, Any]) -> dict[str, Any]:
    """An image model's answer: a text part and an ``inlineData`` PNG part
    (an edit's answer names how many images it was given)."""
    given = sum(1 for p in body["contents"][-1]["parts"] if "inlineData" in p)
    ratio = body.get("generationConfig", {}).get("imageConfig", {}).get("aspectRatio", "1:1")
    parts = [
        {"text": f"Here is your image ({ratio}, {given} input images)."},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(image_bytes(7)).decode()}},
    ]
    return _response(model, parts, "STOP", IMAGE_USAGE)
