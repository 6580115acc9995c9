"""A fake OpenAI upstream speaking the real wire format: Chat Completions and
Responses, JSON and SSE (``data:`` lines, ``event:`` names, ``[DONE]``),
OpenAI's error bodies and headers.

Behaviour is chosen by markers in the last user text, so a test states what
it wants in the prompt itself:

``[[429]]``, ``[[500]]``, ``[[503]]``  an error answer with that status
``[[ctx]]``                          400 ``context_length_exceeded``
``[[slow]]``                         sleep before answering (timeouts)
``[[cut]]``                          a stream that breaks after two chunks
``[[hold]]``                         a stream that waits for ``release`` after its first chunk
``[[holdword]]``                     a stream that waits for ``release`` after its first word
``[[tool]]``                         a function call to the first declared tool
``[[search]]``                       with a web_search tool declared: a ``web_search_call`` item first
                                     and ``url_citation`` annotations on the text (``SEARCH_*``)
``[[image]]``                        with an image_generation tool declared: an ``image_generation_call``
                                     item (a real 1x1 PNG, ``IMAGE_PNG``) before the text
``[[reason]]``                       reasoning first (chat: DeepSeek's ``reasoning_content``;
                                     responses: a reasoning item with a summary and
                                     ``encrypted_content``)

A request for ``json_schema`` / ``json_object`` output is answered with
``JSON_REPLY``. Chat answers ``n`` choices (usage totalled over them, as
OpenAI reports it) and token log probabilities when ``logprobs`` is set
(one token per word, ``top_logprobs`` alternatives); Responses answers carry
them with ``include: ["message.output_text.logprobs"]``.
Streams are written in ``split``-byte pieces to exercise reassembly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import openai_images
from tests.fakes.asgi import Recorded, read_request, send_json, words
from tests.fakes.upstream_files import OpenAIFiles

REPLY = "Hello from the fake upstream! héllo 🌍 done."
JSON_REPLY = '{"city": "Paris", "temperature_c": 18}'
REASONING = "The user greets me; answer warmly."
ENCRYPTED = "gAAAAAfake-encrypted-reasoning=="
SEARCH_QUERY = "fake upstream greeting"
SEARCH_URL = "https://example.com/greeting"
SEARCH_TITLE = "Greetings, explained"


def _png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


IMAGE_PNG = _png()
IMAGE_PARTIAL = base64.b64encode(IMAGE_PNG[:40]).decode()
IMAGE_REVISED_PROMPT = "A single red pixel on a transparent background"


def search_annotations(reply: str) -> list[dict[str, Any]]:
    """A ``url_citation`` on the reply's "héllo 🌍" (character offsets, as OpenAI gives them)."""
    start = reply.find("héllo")
    if start < 0:
        return []
    end = start + len("héllo 🌍")
    return [
        {
            "type": "url_citation",
            "start_index": start,
            "end_index": end,
            "url": SEARCH_URL,
            "title": SEARCH_TITLE,
        }
    ]


@dataclass
class FakeOpenAI:
    split: int = 5
    reply: str = REPLY
    slow_seconds: float = 3.0
    requests: list[Recorded] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    omit_usage: bool = False  # answer JSON without "usage" (some compatible servers do)
    images: openai_images.FakeImages = field(default_factory=openai_images.FakeImages)
    files: OpenAIFiles = field(default_factory=OpenAIFiles)  # POST /v1/files (tests/fakes/upstream_files.py)

    def reset(self) -> None:
        self.files.reset()
        self.requests.clear()
        self.release.clear()
        self.split = 5
        self.reply = REPLY
        self.omit_usage = False
        self.images.reset()

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "POST" and scope["path"].endswith("/files"):
            return await self.files.upload(scope, receive, send)
        recorded = await read_request(scope, receive)
        body, path = recorded.body, recorded.path
        self.requests.append(recorded)
        if "/images/" in path:
            return await openai_images.answer(self.images, send, recorded)
        text = _last_user_text(body)
        if "invalid" in recorded.headers.get("authorization", ""):
            # OpenAI's answer to a wrong key.
            return await send_json(
                send,
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided: sk-inval***. You can find your API key at https://platform.openai.com/account/api-keys.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
        for gone in self.files.missing(body):
            return await send_json(
                send,
                404,
                {
                    "error": {
                        "message": f"No such File object: {gone}",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
            )
        for status in (429, 500, 503):
            if f"[[{status}]]" in text:
                extra = [(b"retry-after", b"7")] if status == 429 else []
                kind = "rate_limit_exceeded" if status == 429 else "server_error"
                return await send_json(
                    send,
                    status,
                    {"error": {"message": f"fake {status}", "type": kind, "param": None, "code": kind}},
                    extra,
                )
        if "[[ctx]]" in text:
            return await send_json(
                send,
                400,
                {
                    "error": {
                        "message": "This model's maximum context length is 128000 tokens.",
                        "type": "invalid_request_error",
                        "param": "messages",
                        "code": "context_length_exceeded",
                    }
                },
            )
        if "[[slow]]" in text:
            await asyncio.sleep(self.slow_seconds)
        if path.endswith("/chat/completions"):
            return await self._chat(send, body, text)
        if path.endswith("/responses"):
            return await self._responses(send, body, text)
        if path.endswith("/embeddings"):
            return await self._embeddings(send, body)
        return await send_json(
            send,
            404,
            {
                "error": {
                    "message": f"Unknown path {path}",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            },
        )

    # ------------------------------------------------------------------ chat

    async def _chat(self, send: Any, body: dict[str, Any], text: str) -> None:
        model = body.get("model", "")
        usage = {
            "prompt_tokens": 12,
            "completion_tokens": 9,
            "total_tokens": 21,
            "prompt_tokens_details": {"cached_tokens": 2, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
        tool = _first_tool(body)
        reply = JSON_REPLY if _wantssend_json(body) else self.reply
        reasoning = REASONING if "[[reason]]" in text else None
        call = None
        if "[[tool]]" in text and tool:
            call = {
                "id": "call_fake1",
                "type": "function",
                "function": {"name": tool, "arguments": '{"city": "Paris"}'},
            }
        n = int(body.get("n") or 1)
        top = int(body.get("top_logprobs") or 0) if body.get("logprobs") else None
        usage["completion_tokens"] *= n
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            choices = []
            for index in range(n):
                text = None if call else choice_reply(reply, index)
                message: dict[str, Any] = {
                    "role": "assistant",
                    "content": text,
                    "refusal": None,
                    "annotations": [],
                }
                if reasoning:
                    message["reasoning_content"] = reasoning
                if call:
                    message["tool_calls"] = [call]
                logprobs = None
                if top is not None:
                    logprobs = {"content": token_logprobs(text or "", top), "refusal": None}
                choices.append(
                    {
                        "index": index,
                        "message": message,
                        "logprobs": logprobs,
                        "finish_reason": "tool_calls" if call else "stop",
                    }
                )
            answer = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": choices,
                "usage": usage,
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
            }
            if self.omit_usage:
                del answer["usage"]
            return await send_json(send, 200, answer)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }

        def chunk(
            delta: dict[str, Any], finish: str | None = None, index: int = 0, logprobs: Any = None
        ) -> dict[str, Any]:
            out = {
                **base,
                "choices": [{"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}],
            }
            if include_usage:
                out["usage"] = None
            return out

        events = [chunk({"role": "assistant", "content": "", "refusal": None}, index=i) for i in range(n)]
        for word in words(reasoning) if reasoning else []:
            events.append(chunk({"reasoning_content": word}))
        if n > 1 and not call:
            # Several choices: their chunks interleaved, as OpenAI sends them.
            texts = [words(choice_reply(reply, i)) for i in range(n)]
            for position in range(max(map(len, texts))):
                for i, pieces in enumerate(texts):
                    if position < len(pieces):
                        lp = None
                        if top is not None:
                            tokens = token_logprobs("".join(pieces), top)[position : position + 1]
                            lp = {"content": tokens, "refusal": None}
                        events.append(chunk({"content": pieces[position]}, index=i, logprobs=lp))
            events.extend(chunk({}, "stop", index=i) for i in range(n))
        elif call:
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": tool, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            for piece in ('{"city"', ': "Par', 'is"}'):
                events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
            events.append(chunk({}, "tool_calls"))
        else:
            for position, word in enumerate(words(reply)):
                lp = None
                if top is not None:
                    lp = {"content": token_logprobs(reply, top)[position : position + 1], "refusal": None}
                events.append(chunk({"content": word}, logprobs=lp))
            events.append(chunk({}, "stop"))
        if include_usage:
            events.append({**base, "choices": [], "usage": usage})
        frames = [b"data: " + json.dumps(e, ensure_ascii=False).encode() + b"\n\n" for e in events]
        frames.append(b"data: [DONE]\n\n")
        await self._stream(send, frames, text)

    # ------------------------------------------------------------- responses

    async def _responses(self, send: Any, body: dict[str, Any], text: str) -> None:
        model = body.get("model", "")
        usage = {
            "input_tokens": 14,
            "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
            "output_tokens": 11,
            "output_tokens_details": {"reasoning_tokens": 3},
            "total_tokens": 25,
        }
        created = int(time.time())
        reply = JSON_REPLY if _wantssend_json(body) else self.reply
        tool = _first_tool(body)
        wants = "message.output_text.logprobs" in (body.get("include") or [])
        top = int(body.get("top_logprobs") or 0) if wants else None
        output: list[dict[str, Any]] = []
        if "[[reason]]" in text:
            reasoning: dict[str, Any] = {
                "id": "rs_fake",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": REASONING}],
            }
            if "reasoning.encrypted_content" in (body.get("include") or []):
                reasoning["encrypted_content"] = ENCRYPTED
            output.append(reasoning)
        searching = "[[search]]" in text and any(
            str(t.get("type", "")).startswith("web_search") for t in body.get("tools") or []
        )
        if searching:
            action = {
                "type": "search",
                "query": SEARCH_QUERY,
                "sources": [{"type": "url", "url": SEARCH_URL}],
            }
            output.append(
                {"id": "ws_fake", "type": "web_search_call", "status": "completed", "action": action}
            )
        if "[[image]]" in text and any(t.get("type") == "image_generation" for t in body.get("tools") or []):
            output.append(
                {
                    "id": "ig_fake",
                    "type": "image_generation_call",
                    "status": "completed",
                    "result": base64.b64encode(IMAGE_PNG).decode(),
                    "revised_prompt": IMAGE_REVISED_PROMPT,
                    "size": "1024x1024",
                    "quality": "low",
                    "output_format": "png",
                    "background": "transparent",
                }
            )
        if "[[tool]]" in text and tool:
            output.append(
                {
                    "id": "fc_fake",
                    "type": "function_call",
                    "status": "completed",
                    "call_id": "call_fake1",
                    "name": tool,
                    "arguments": '{"city": "Paris"}',
                }
            )
        else:
            output.append(
                {
                    "id": "msg_fake",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [
                        {
                            "type": "output_text",
                            "text": reply,
                            "annotations": search_annotations(reply) if searching else [],
                            "logprobs": token_logprobs(reply, top) if top is not None else [],
                        }
                    ],
                }
            )
        text_config = (body.get("text") or {}).get("format") or {"type": "text"}
        response = {
            "id": "resp_fake",
            "object": "response",
            "created_at": created,
            "status": "completed",
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": False,
            "temperature": 1.0,
            "text": {"format": text_config},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools", []),
            "top_logprobs": body.get("top_logprobs"),
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": body.get("metadata") or {},
        }
        if not body.get("stream"):
            if self.omit_usage:
                response["usage"] = None
            return await send_json(send, 200, response)
        in_progress = {**response, "status": "in_progress", "output": [], "usage": None}
        seq = 0
        frames: list[bytes] = []

        def emit(kind: str, payload: dict[str, Any]) -> None:
            nonlocal seq
            data = {"type": kind, "sequence_number": seq, **payload}
            seq += 1
            frames.append(
                f"event: {kind}\ndata: ".encode() + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"
            )

        emit("response.created", {"response": in_progress})
        emit("response.in_progress", {"response": in_progress})
        for index, item in enumerate(output):
            ref = {"item_id": item["id"], "output_index": index}
            if item["type"] == "reasoning":
                emit("response.output_item.added", {"output_index": index, "item": {**item, "summary": []}})
                part = {"type": "summary_text", "text": ""}
                emit("response.reasoning_summary_part.added", {**ref, "summary_index": 0, "part": part})
                for word in words(REASONING):
                    emit("response.reasoning_summary_text.delta", {**ref, "summary_index": 0, "delta": word})
                emit("response.reasoning_summary_text.done", {**ref, "summary_index": 0, "text": REASONING})
                part = {"type": "summary_text", "text": REASONING}
                emit("response.reasoning_summary_part.done", {**ref, "summary_index": 0, "part": part})
            elif item["type"] == "web_search_call":
                opened = {**item, "status": "in_progress", "action": {"type": "search"}}
                emit("response.output_item.added", {"output_index": index, "item": opened})
                for status in ("in_progress", "searching", "completed"):
                    emit(f"response.web_search_call.{status}", ref)
            elif item["type"] == "image_generation_call":
                opened = {"id": item["id"], "type": item["type"], "status": "in_progress", "result": None}
                emit("response.output_item.added", {"output_index": index, "item": opened})
                emit("response.image_generation_call.in_progress", ref)
                emit("response.image_generation_call.generating", ref)
                partial = {**ref, "partial_image_b64": IMAGE_PARTIAL, "partial_image_index": 0}
                emit("response.image_generation_call.partial_image", partial)
                emit("response.image_generation_call.completed", ref)
            elif item["type"] == "function_call":
                opened = {**item, "status": "in_progress", "arguments": ""}
                emit("response.output_item.added", {"output_index": index, "item": opened})
                for piece in ('{"city"', ': "Par', 'is"}'):
                    emit("response.function_call_arguments.delta", {**ref, "delta": piece})
                emit("response.function_call_arguments.done", {**ref, "arguments": item["arguments"]})
            else:
                opened = {**item, "status": "in_progress", "content": []}
                emit("response.output_item.added", {"output_index": index, "item": opened})
                part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                emit("response.content_part.added", {**ref, "content_index": 0, "part": part})
                for position, word in enumerate(words(reply)):
                    lp = (
                        token_logprobs(reply, top, with_bytes=False)[position : position + 1]
                        if top is not None
                        else []
                    )
                    emit(
                        "response.output_text.delta",
                        {**ref, "content_index": 0, "delta": word, "logprobs": lp},
                    )
                for n, annotation in enumerate(item["content"][0]["annotations"]):
                    emit(
                        "response.output_text.annotation.added",
                        {**ref, "content_index": 0, "annotation_index": n, "annotation": annotation},
                    )
                lp = token_logprobs(reply, top, with_bytes=False) if top is not None else []
                emit("response.output_text.done", {**ref, "content_index": 0, "text": reply, "logprobs": lp})
                emit("response.content_part.done", {**ref, "content_index": 0, "part": item["content"][0]})
            emit("response.output_item.done", {"output_index": index, "item": item})
        emit("response.completed", {"response": response})
        await self._stream(send, frames, text)

    # ------------------------------------------------------------ embeddings

    async def _embeddings(self, send: Any, body: dict[str, Any]) -> None:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for i, _ in enumerate(inputs):
            vector = [0.25, -0.5, float(i)]
            encoded: Any = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        tokens = 3 * len(inputs)
        return await send_json(
            send,
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    # ---------------------------------------------------------------- stream

    async def _stream(self, send: Any, frames: list[bytes], text: str) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream; charset=utf-8")],
            }
        )
        if "[[cut]]" in text:
            frames = frames[:2]
        for i, frame in enumerate(frames):
            for start in range(0, len(frame), self.split):
                await send(
                    {
                        "type": "http.response.body",
                        "body": frame[start : start + self.split],
                        "more_body": True,
                    }
                )
            if (i == 0 and "[[hold]]" in text) or (i == 1 and "[[holdword]]" in text):
                await asyncio.to_thread(self.release.wait, 10)
        if "[[cut]]" in text:
            raise RuntimeError("fake upstream cuts the stream")  # uvicorn drops the connection mid-body
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def choice_reply(reply: str, index: int) -> str:
    """The text of choice ``index`` (each choice differs, the first is ``reply``)."""
    return reply if index == 0 else f"Choice {index}: {reply}"


def token_logprobs(text: str, top: int, *, with_bytes: bool = True) -> list[dict[str, Any]]:
    """One token per word of ``text``, each with ``top`` alternatives (the token itself first)."""
    out = []
    for i, word in enumerate(words(text)):
        entry: dict[str, Any] = {"token": word, "logprob": -0.5 * (i + 1)}
        alternatives: list[dict[str, Any]] = [
            {"token": word if k == 0 else f"alt{k}", "logprob": -0.5 * (i + 1) - k} for k in range(top)
        ]
        if with_bytes:
            entry["bytes"] = list(word.encode())
            for alt in alternatives:
                alt["bytes"] = list(alt["token"].encode())
        out.append({**entry, "top_logprobs": alternatives})
    return out


def _wantssend_json(body: dict[str, Any]) -> bool:
    chat_format = (body.get("response_format") or {}).get("type")
    responses_format = ((body.get("text") or {}).get("format") or {}).get("type")
    return "json_schema" in (chat_format, responses_format) or "json_object" in (
        chat_format,
        responses_format,
    )


def _first_tool(body: dict[str, Any]) -> str | None:
    for tool in body.get("tools") or []:
        if tool.get("type") == "function":
            return (tool.get("function") or tool).get("name")
    return None


def _last_user_text(body: dict[str, Any]) -> str:
    texts: list[str] = []
    for msg in body.get("messages") or []:
        texts.append(_text(msg.get("content")))
    inp = body.get("input")
    if isinstance(inp, str):
        texts.append(inp)
    elif isinstance(inp, list):
        for item in inp:
            if isinstance(item, dict):
                texts.append(_text(item.get("content")))
    return texts[-1] if texts else ""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""
