"""A fast fake OpenAI upstream for benchmarks.

``POST /v1/chat/completions`` and ``POST /v1/responses``, answered as OpenAI
does: one JSON body, or SSE (``data:`` lines; chat ends with ``data: [DONE]``)
when the request has ``"stream": true``. Every answer waits ``--latency-ms``
first; a stream then sends ``--chunks`` content chunks ``--gap-ms`` apart (a
request's ``max_tokens`` / ``max_completion_tokens`` / ``max_output_tokens``
overrides the chunk count). Each content chunk carries ``"seq": i`` so a
client can detect dropped or reordered chunks. Usage rides in a final chunk
when ``stream_options.include_usage`` is set (chat) and in
``response.completed`` (responses).

A raw asyncio protocol with httptools' parser on uvloop: no framework, no
per-request task unless the answer has to wait, so it is never the bottleneck.

    python -m bench.fake_upstream --port 9100 --latency-ms 1 --chunks 20 --gap-ms 5
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

import httptools
import msgspec
import uvloop

PROMPT_TOKENS = 12
JSON_HEADERS = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
SSE_HEADERS = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n%s\r\n"
)
KEEP_ALIVE = b""
CLOSE = b"connection: close\r\n"
DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Config:
    latency: float  # seconds before the first byte
    chunks: int
    gap: float  # seconds between stream chunks


@dataclass(slots=True)
class Job:
    """One parsed request: what to answer, or the error to answer with."""

    dialect: str  # "chat" | "responses" | "" when ``error`` is set
    body: dict[str, object]
    keep_alive: bool
    error: tuple[int, bytes, str] | None = None

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True


def parse_job(path: bytes, raw: bytes, keep_alive: bool) -> Job:
    path = path.split(b"?", 1)[0]
    if path.endswith(b"/chat/completions"):
        dialect = "chat"
    elif path.endswith(b"/responses"):
        dialect = "responses"
    else:
        return Job("", {}, keep_alive, (404, b"Not Found", "Unknown path."))
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict):
        return Job("", {}, keep_alive, (400, b"Bad Request", "The body is not a JSON object."))
    return Job(dialect, body, keep_alive)


def _http_chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _usage(dialect: str, output_tokens: int) -> dict[str, int]:
    if dialect == "chat":
        return {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": output_tokens,
            "total_tokens": PROMPT_TOKENS + output_tokens,
        }
    return {
        "input_tokens": PROMPT_TOKENS,
        "output_tokens": output_tokens,
        "total_tokens": PROMPT_TOKENS + output_tokens,
    }


def json_body(dialect: str, model: str, chunks: int) -> bytes:
    text = "".join(f"tok{i} " for i in range(chunks))
    if dialect == "chat":
        body: dict[str, object] = {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": _usage(dialect, chunks),
        }
    else:
        body = {
            "id": "resp_bench",
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": model,
            "output": [
                {
                    "type": "message",
                    "id": "msg_bench",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            ],
            "usage": _usage(dialect, chunks),
        }
    return msgspec.json.encode(body)


def chat_events(model: str, chunks: int, include_usage: bool) -> list[bytes]:
    created = int(time.time())
    events = []
    for i in range(chunks):
        delta = {"role": "assistant", "content": f"tok{i} "} if i == 0 else {"content": f"tok{i} "}
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "seq": i,
            "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if i == chunks - 1 else None}],
        }
        events.append(b"data: " + msgspec.json.encode(chunk) + b"\n\n")
    if include_usage:
        usage = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage("chat", chunks),
        }
        events.append(b"data: " + msgspec.json.encode(usage) + b"\n\n")
    events.append(DONE)
    return events


def responses_events(model: str, chunks: int) -> list[bytes]:
    def event(name: str, data: dict[str, object]) -> bytes:
        return (
            b"event: " + name.encode() + b"\ndata: " + msgspec.json.encode({"type": name, **data}) + b"\n\n"
        )

    base = {"id": "resp_bench", "object": "response", "created_at": int(time.time()), "model": model}
    events = [event("response.created", {"response": {**base, "status": "in_progress"}})]
    for i in range(chunks):
        events.append(
            event(
                "response.output_text.delta",
                {
                    "item_id": "msg_bench",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": f"tok{i} ",
                    "seq": i,
                },
            )
        )
    done = {**base, "status": "completed", "usage": _usage("responses", chunks)}
    events.append(event("response.completed", {"response": done}))
    return events


def _chunk_count(body: dict[str, object], default: int) -> int:
    for name in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return default


class UpstreamProtocol(asyncio.Protocol):
    """One connection. Requests on it are answered in order (pipelining-safe)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.pending: list[Job] = []
        self.task: asyncio.Task[None] | None = None

    # -- asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.task is not None:
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self._close()

    # -- httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        job = parse_job(self.url, b"".join(self.body), self.parser.should_keep_alive())
        self.url, self.body = b"", []
        if self.task is None and self.config.latency <= 0 and not job.stream:
            self._answer_json(job)  # nothing to wait for: no task at all
            return
        self.pending.append(job)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())

    # -- answering
    def _write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _end(self, job: Job) -> None:
        if not job.keep_alive:
            self._close()

    async def _drain(self) -> None:
        try:
            while self.pending:
                job = self.pending.pop(0)
                if self.config.latency > 0:
                    await asyncio.sleep(self.config.latency)
                if job.stream and job.error is None:
                    await self._answer_stream(job)
                else:
                    self._answer_json(job)
        finally:
            self.task = None

    def _answer_json(self, job: Job) -> None:
        conn = KEEP_ALIVE if job.keep_alive else CLOSE
        if job.error is not None:
            status, reason, message = job.error
            payload = msgspec.json.encode({"error": {"message": message, "type": "invalid_request_error"}})
            head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
            self._write(head % (status, reason, len(payload), conn) + payload)
        else:
            chunks = _chunk_count(job.body, self.config.chunks)
            payload = json_body(job.dialect, str(job.body.get("model", "")), chunks)
            self._write(JSON_HEADERS % (len(payload), conn) + payload)
        self._end(job)

    async def _answer_stream(self, job: Job) -> None:
        chunks = _chunk_count(job.body, self.config.chunks)
        model = str(job.body.get("model", ""))
        if job.dialect == "chat":
            options = job.body.get("stream_options")
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            events, first = chat_events(model, chunks, include_usage), 0
        else:
            events, first = responses_events(model, chunks), 1  # after response.created
        self._write(SSE_HEADERS % (KEEP_ALIVE if job.keep_alive else CLOSE) + _http_chunk(events[0]))
        # Content chunks are spaced by the gap; the trailing usage / [DONE]
        # events follow the last content chunk at once, as OpenAI sends them.
        for i, event in enumerate(events[1:], start=1):
            if self.config.gap > 0 and first < i < first + chunks:
                await asyncio.sleep(self.config.gap)
            self._write(_http_chunk(event))
        self._write(b"0\r\n\r\n")
        self._end(job)


async def serve(host: str, port: int, config: Config) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: UpstreamProtocol(config), host, port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--latency-ms", type=float, default=1.0, help="wait before the first byte")
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per stream")
    parser.add_argument("--gap-ms", type=float, default=5.0, help="gap between stream chunks")
    args = parser.parse_args()
    config = Config(latency=args.latency_ms / 1000, chunks=args.chunks, gap=args.gap_ms / 1000)
    uvloop.run(serve(args.host, args.port, config))


if __name__ == "__main__":
    main()
