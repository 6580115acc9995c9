"""A light closed-loop load generator: N keep-alive HTTP/1.1 connections, each
sending the next request as soon as the previous answer is complete.

Raw asyncio protocol + httptools' response parser on uvloop: a request is one
``transport.write`` and an answer is parsed in C, so the generator stays a
small share of the CPU. It records per-request latency, requests/s and, for
streams, time to the first ``data:`` chunk and the ``"seq"`` index of every
content chunk (see ``bench.fake_upstream``) to count drops and reorders.

    python -m bench.loadgen http://127.0.0.1:9100/v1/chat/completions -c 16 -d 5
    python -m bench.loadgen http://127.0.0.1:8000/v1/chat/completions -c 64 --stream --key jk_…
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools
import msgspec
import uvloop

SEQ = re.compile(rb'"seq":(\d+)')
MODEL = "gpt-4o-mini"


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> Target:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/")


@dataclass(frozen=True, slots=True)
class Load:
    concurrency: int
    duration: float  # seconds measured
    warmup: float = 0.5  # seconds run first and not measured
    max_requests: int = 1_000_000  # measured requests, across connections
    stream: bool = False
    chunks: int = 20  # content chunks expected per stream
    api_key: str = "sk-bench"
    dialect: str = "chat"  # "chat" | "responses"


@dataclass(slots=True)
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    ttfts: list[float] = field(default_factory=list)  # seconds to the first data chunk
    errors: int = 0
    first_error: str = ""
    streams: int = 0
    chunks: int = 0  # content chunks received
    dropped: int = 0  # content chunks expected but never received
    reordered: int = 0  # streams whose chunks arrived out of order or twice
    unterminated: int = 0  # streams that ended without their final event
    elapsed: float = 0.0  # seconds of the measured window
    server_cpu: float = float("nan")  # seconds of the server process's CPU during the window (run.py)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def error(self, message: str) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = message[:300]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def request_body(load: Load) -> bytes:
    if load.dialect == "responses":
        body: dict[str, object] = {"model": MODEL, "input": "Say hello.", "max_output_tokens": load.chunks}
    else:
        body = {
            "model": MODEL,
            "messages": [{"role": "user", "content": "Say hello."}],
            "max_tokens": load.chunks,
        }
    if load.stream:
        body["stream"] = True
        if load.dialect == "chat":
            body["stream_options"] = {"include_usage": True}
    return msgspec.json.encode(body)


def build_request(target: Target, load: Load) -> bytes:
    body = request_body(load)
    head = (
        f"POST {target.path} HTTP/1.1\r\n"
        f"host: {target.host}:{target.port}\r\n"
        f"authorization: Bearer {load.api_key}\r\n"
        "content-type: application/json\r\n"
        "user-agent: junction-bench\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    first_data: float | None  # perf_counter() when the first data chunk arrived


class ClientConnection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.parts: list[bytes] = []
        self.first_data: float | None = None
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def send(self, request: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self.parts, self.first_data = [], None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_exception(exc)
            if self.transport is not None:
                self.transport.close()

    def on_body(self, body: bytes) -> None:
        if self.first_data is None and b"data:" in body:
            self.first_data = time.perf_counter()
        self.parts.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            answer = Answer(self.parser.get_status_code(), b"".join(self.parts), self.first_data)
            self.waiter.set_result(answer)
        if not self.parser.should_keep_alive() and self.transport is not None:
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def check_stream(result: Result, body: bytes, load: Load) -> None:
    seqs = [int(m) for m in SEQ.findall(body)]
    result.streams += 1
    result.chunks += len(seqs)
    result.dropped += max(0, load.chunks - len(set(seqs)))
    if seqs != sorted(set(seqs)):
        result.reordered += 1
    final = b"data: [DONE]" if load.dialect == "chat" else b"response.completed"
    if final not in body:
        result.unterminated += 1


async def _connect(target: Target) -> ClientConnection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(ClientConnection, target.host, target.port)
    return conn


async def _worker(
    target: Target, load: Load, request: bytes, window: tuple[float, float], result: Result
) -> None:
    conn: ClientConnection | None = None
    measure_from, stop_at = window
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at or result.requests >= load.max_requests:
                return
            try:
                if conn is None or conn.transport is None:
                    conn = await _connect(target)
                    t0 = time.perf_counter()
                answer = await conn.send(request)
            except (OSError, ConnectionError, httptools.HttpParserError) as exc:
                conn = None
                if t0 >= measure_from:
                    result.error(repr(exc))
                await asyncio.sleep(0.01)
                continue
            t1 = time.perf_counter()
            if t0 < measure_from:
                continue
            if answer.status != 200:
                result.error(f"HTTP {answer.status}: {answer.body[:200]!r}")
                continue
            result.latencies.append(t1 - t0)
            if load.stream:
                result.ttfts.append((answer.first_data or t1) - t0)
                check_stream(result, answer.body, load)
    finally:
        if conn is not None:
            conn.close()


async def run_load(target: Target, load: Load, cpu_clock: Callable[[], float] | None = None) -> Result:
    """Run ``load`` against ``target``; only requests started inside the
    measured window (after the warm-up) count. ``cpu_clock`` (the server's
    CPU seconds so far) is read when the window opens and when it closes."""
    request = build_request(target, load)
    result = Result()
    start = time.perf_counter()
    window = (start + load.warmup, start + load.warmup + load.duration)
    cpu_at_open: list[float] = []
    if cpu_clock is not None:
        loop = asyncio.get_running_loop()
        loop.call_later(load.warmup, lambda: cpu_at_open.append(cpu_clock()))
    workers = [_worker(target, load, request, window, result) for _ in range(load.concurrency)]
    await asyncio.gather(*workers)
    # The window closes when the last measured request has finished.
    result.elapsed = time.perf_counter() - window[0]
    if cpu_clock is not None and cpu_at_open:
        result.server_cpu = cpu_clock() - cpu_at_open[0]
    return result


def summary(result: Result) -> str:
    ms = 1000
    parts = [
        f"requests={result.requests} errors={result.errors} rps={result.rps:,.0f}",
        f"p50={percentile(result.latencies, 50) * ms:.2f}ms p99={percentile(result.latencies, 99) * ms:.2f}ms",
    ]
    if result.streams:
        parts.append(
            f"ttft p50={percentile(result.ttfts, 50) * ms:.2f}ms p99={percentile(result.ttfts, 99) * ms:.2f}ms "
            f"chunks={result.chunks} dropped={result.dropped} reordered={result.reordered} "
            f"unterminated={result.unterminated}"
        )
    if result.first_error:
        parts.append(f"first error: {result.first_error}")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="e.g. http://127.0.0.1:9100/v1/chat/completions")
    parser.add_argument("-c", "--concurrency", type=int, default=1)
    parser.add_argument("-d", "--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("-n", "--max-requests", type=int, default=1_000_000)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--key", default="sk-bench")
    args = parser.parse_args()
    target = Target.from_url(args.url)
    dialect = "responses" if target.path.endswith("/responses") else "chat"
    load = Load(
        concurrency=args.concurrency,
        duration=args.duration,
        warmup=args.warmup,
        max_requests=args.max_requests,
        stream=args.stream,
        chunks=args.chunks,
        api_key=args.key,
        dialect=dialect,
    )
    print(summary(uvloop.run(run_load(target, load))))


if __name__ == "__main__":
    main()
