"""A fake Anthropic upstream speaking the real Messages wire format: the
Message object, the SSE event sequence (``event:`` + ``data:`` frames,
``ping``), Anthropic's error bodies, and ``/v1/messages/count_tokens``.

Behaviour is chosen by markers in the last user text:

``[[429]]`` ``[[500]]`` ``[[529]]``  an error answer with that status
``[[ctx]]``                        400 "prompt is too long"
``[[tool]]``                       a tool_use of the first declared tool
``[[think]]``                      a thinking block (with signature) before the text
``[[cut]]``                        a stream that ends before ``message_stop``
``[[redacted]]``                   a redacted_thinking block before the text
``[[stop]]``                       ends on the request's first stop sequence (``stop_reason: stop_sequence``)
``[[overload-mid]]``               an ``event: error`` overloaded_error after the first delta
``[[search]]``                     with the web_search server tool declared: a ``server_tool_use``,
                                   its ``web_search_tool_result`` and a cited text block (``SEARCH_*``);
                                   ``usage.server_tool_use.web_search_requests`` is 1
A ``tool_result`` as the last user block gets the reply "Tool said: <content>".
A forced tool (``tool_choice.type == "tool"``) is always called; an
``output_config.format`` json_schema answers the JSON text ``JSON_REPLY``.
Streams are written in ``split``-byte pieces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.asgi import Recorded, read_request, send_json, words

REPLY = "Hello from fake Claude! héllo 🌍 done."
JSON_REPLY = {"city": "Paris", "temperature": 21}
TOOL_INPUT = {"city": "Paris"}
USAGE = {
    "input_tokens": 20,
    "cache_read_input_tokens": 5,
    "cache_creation_input_tokens": 3,
    "output_tokens": 11,
}
REDACTED_DATA = (
    "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj2pabDe=="
)
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
SEARCH_QUERY = "fake claude greeting"
SEARCH_RESULTS = [
    {
        "type": "web_search_result",
        "url": "https://example.com/claude",
        "title": "Claude says hello",
        "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y2Y",
        "page_age": "April 30, 2025",
    },
    {
        "type": "web_search_result",
        "url": "https://example.org/hello",
        "title": "Hello, world",
        "encrypted_content": "EpIBCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y2Y",
        "page_age": None,
    },
]
SEARCH_CITED = "Claude greets you: héllo 🌍."


def search_blocks(reply: str) -> list[dict[str, Any]]:
    """Anthropic's answer shape for one search: the query, the results, then
    text blocks, the cited one carrying its ``web_search_result_location``."""
    citation = {
        "type": "web_search_result_location",
        "url": SEARCH_RESULTS[0]["url"],
        "title": SEARCH_RESULTS[0]["title"],
        "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm",
        "cited_text": "Claude says hello to everyone who asks.",
    }
    return [
        {"type": "text", "text": "Let me look that up."},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_01FakeSearch",
            "name": "web_search",
            "input": {"query": SEARCH_QUERY},
        },
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01FakeSearch", "content": SEARCH_RESULTS},
        {"type": "text", "text": "Found it. "},
        {"type": "text", "text": SEARCH_CITED, "citations": [citation]},
        {"type": "text", "text": " " + reply},
    ]


@dataclass
class FakeAnthropic:
    split: int = 7
    reply: str = REPLY
    usage: dict[str, Any] = field(default_factory=lambda: dict(USAGE))
    requests: list[Recorded] = field(default_factory=list)

    def reset(self) -> None:
        self.requests.clear()
        self.split = 7
        self.reply = REPLY
        self.usage = dict(USAGE)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        recorded = await read_request(scope, receive)
        headers, body, path = recorded.headers, recorded.body, recorded.path
        self.requests.append(recorded)
        if not headers.get("x-api-key") or headers.get("anthropic-version") != "2023-06-01":
            return await _error(send, 401, "authentication_error", "invalid x-api-key")
        if path == "/v1/messages/count_tokens":
            return await send_json(send, 200, {"input_tokens": 42})
        if path != "/v1/messages":
            return await _error(send, 404, "not_found_error", f"Unknown path {path}")
        if not isinstance(body.get("max_tokens"), int):
            return await _error(send, 400, "invalid_request_error", "max_tokens: Field required")
        text = _last_user_text(body)
        for status, kind in ((429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error")):
            if f"[[{status}]]" in text:
                extra = [(b"retry-after", b"7")] if status == 429 else []
                return await _error(send, status, kind, f"fake {status}", extra)
        if "[[ctx]]" in text:
            return await _error(
                send, 400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"
            )
        blocks = self._blocks(body, text)
        stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        stop_sequence = None
        if "[[stop]]" in text and body.get("stop_sequences"):
            stop, stop_sequence = "stop_sequence", body["stop_sequences"][0]
        message = {
            "id": "msg_01FakeXyz",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": blocks,
            "stop_reason": stop,
            "stop_sequence": stop_sequence,
            "usage": dict(self.usage),
        }
        searches = sum(b["type"] == "server_tool_use" for b in blocks)
        if searches:
            message["usage"]["server_tool_use"] = {"web_search_requests": searches}
        if not body.get("stream"):
            return await send_json(send, 200, message)
        frames = _stream_frames(message, text)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"request-id", b"req_fake"),
                ],
            }
        )
        data = b"".join(frames)
        for i in range(0, len(data), self.split):
            await send({"type": "http.response.body", "body": data[i : i + self.split], "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def _blocks(self, body: dict[str, Any], text: str) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if "[[think]]" in text:
            blocks.append({"type": "thinking", "thinking": "Let me think… step one.", "signature": SIGNATURE})
        if "[[redacted]]" in text:
            blocks.append({"type": "redacted_thinking", "data": REDACTED_DATA})
        choice = body.get("tool_choice") or {}
        tools = body.get("tools") or []
        if choice.get("type") == "tool":
            blocks.append(
                {"type": "tool_use", "id": "toolu_01Forced", "name": choice["name"], "input": JSON_REPLY}
            )
            return blocks
        result = _last_tool_result(body)
        if result is not None:
            blocks.append({"type": "text", "text": f"Tool said: {result}"})
            return blocks
        fmt = (body.get("output_config") or {}).get("format")
        if fmt:
            blocks.append({"type": "text", "text": json.dumps(JSON_REPLY)})
            return blocks
        if "[[tool]]" in text and tools:
            blocks.append({"type": "text", "text": "Let me check."})
            blocks.append(
                {"type": "tool_use", "id": "toolu_01Abc", "name": tools[0]["name"], "input": TOOL_INPUT}
            )
            return blocks
        if "[[search]]" in text and any(str(t.get("type", "")).startswith("web_search_") for t in tools):
            return blocks + search_blocks(self.reply)
        blocks.append({"type": "text", "text": self.reply})
        return blocks


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _stream_frames(message: dict[str, Any], text: str) -> list[bytes]:
    start_usage = {k: v for k, v in message["usage"].items() if k != "server_tool_use"}
    start = {**message, "content": [], "stop_reason": None, "usage": {**start_usage, "output_tokens": 1}}
    frames = [_event("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            empty = {"type": "text", "text": ""}
            deltas = [{"type": "citations_delta", "citation": c} for c in block.get("citations") or []]
            deltas += [{"type": "text_delta", "text": w} for w in words(block["text"])]
        elif block["type"] == "web_search_tool_result":
            empty, deltas = block, []  # sent whole in content_block_start
        elif block["type"] == "thinking":
            empty = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": w} for w in words(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif block["type"] == "redacted_thinking":
            empty, deltas = block, []  # Anthropic sends it whole in content_block_start
        else:
            empty = {**block, "input": {}}
            encoded = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": ""}]
            deltas += [
                {"type": "input_json_delta", "partial_json": encoded[i : i + 6]}
                for i in range(0, len(encoded), 6)
            ]
        frames.append(
            _event(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": empty}
            )
        )
        if index == 0:
            frames.append(_event("ping", {"type": "ping"}))
        for n, delta in enumerate(deltas):
            frames.append(
                _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            )
            if n == 0 and "[[overload-mid]]" in text:
                error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
                frames.append(_event("error", error))
                return frames
            if n == 1 and "[[cut]]" in text:
                return frames
        frames.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
        "usage": {
            "output_tokens": message["usage"]["output_tokens"],
            # Anthropic reports the searches in the final usage.
            **(
                {"server_tool_use": message["usage"]["server_tool_use"]}
                if "server_tool_use" in message["usage"]
                else {}
            ),
        },
    }
    frames.append(_event("message_delta", delta))
    frames.append(_event("message_stop", {"type": "message_stop"}))
    return frames


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _last_tool_result(body: dict[str, Any]) -> str | None:
    messages = body.get("messages") or []
    if not messages or messages[-1].get("role") != "user" or isinstance(messages[-1].get("content"), str):
        return None
    for block in messages[-1]["content"]:
        if block.get("type") == "tool_result":
            content = block.get("content")
            if isinstance(content, list):
                content = "".join(b.get("text", "") for b in content)
            return str(content)
    return None


async def _error(
    send: Any, status: int, kind: str, message: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"}
    await send_json(send, status, body, [(b"request-id", b"req_fake"), *(extra or [])])
