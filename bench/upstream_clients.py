"""Experiment: what does the upstream HTTP client cost the event loop?

Drives the fake upstream from one uvloop process with httpx (Junction's
first client), httpx2 (pydantic's fork, whose pool assignment is linear;
installed here as a dependency of the openai SDK), aiohttp (the second) and
``gateway.http`` (Junction's own, now), each with one shared pooled client,
exactly as a gateway would: N concurrent callers, non-streaming JSON and SSE streams read chunk by chunk. Reports
req/s and the process CPU time per request: the client's own cost, since the
upstream runs in another process.

    .venv/bin/python -m bench.upstream_clients
"""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import msgspec
import uvloop

from bench.run import HOST, free_port, http_status, wait_until

DURATION = 3.0
BODY = msgspec.json.encode(
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 20}
)
STREAM_BODY = msgspec.json.encode(
    {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 20,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
)
HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-bench"}

Call = Callable[[bytes, bool], Awaitable[int]]
# A client under test: its call to the URL, and how to close it.
Client = tuple[Call, Callable[[], Awaitable[Any]]]


def httpx_like(module: Any, url: str) -> Client:
    client = module.AsyncClient(
        limits=module.Limits(max_connections=512, max_keepalive_connections=512, keepalive_expiry=60),
        timeout=60,
        trust_env=False,
    )

    async def call(body: bytes, stream: bool) -> int:
        req = client.build_request("POST", url, content=body, headers=HEADERS)
        resp = await client.send(req, stream=True)
        n = 0
        try:
            async for chunk in resp.aiter_bytes():
                n += len(chunk)
        finally:
            await resp.aclose()
        return n

    return call, client.aclose


def junction_client(url: str) -> Client:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from gateway import http

    async def call(body: bytes, stream: bool) -> int:
        resp = await http.upstream_post(url, body=body, headers=HEADERS)
        n = 0
        try:
            while chunk := await resp.read_any():
                n += len(chunk)
        finally:
            await resp.aclose()
        return n

    return call, http.clients.close_current


def aiohttp_client(url: str) -> Client:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512), auto_decompress=False)

    async def call(body: bytes, stream: bool) -> int:
        async with session.post(url, data=body, headers=HEADERS) as resp:
            n = 0
            async for chunk in resp.content.iter_any():
                n += len(chunk)
            return n

    return call, session.close


async def measure(name: str, url: str, concurrency: int, stream: bool) -> str:
    if name == "aiohttp":
        call, close = aiohttp_client(url)
    elif name == "junction":
        call, close = junction_client(url)
    else:
        call, close = httpx_like(httpx if name == "httpx" else __import__("httpx2"), url)
    body = STREAM_BODY if stream else BODY
    done = 0
    stop = 0.0

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await call(body, stream)
            done += 1

    stop = time.perf_counter() + 0.5  # warm the pool
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    done = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    stop = t0 + DURATION
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await close()
    kind = "stream" if stream else "json"
    return (
        f"{name:<8} {kind:<6} c={concurrency:<3} {done / wall:>8,.0f} req/s  "
        f"{cpu / done * 1e6:>7,.0f} us CPU/request  ({cpu / wall:.0%} of a core)"
    )


def main() -> None:
    port = free_port()
    upstream = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.fake_upstream",
            "--host",
            HOST,
            "--port",
            str(port),
            "--latency-ms",
            "1",
        ],
    )
    try:
        wait_until(
            lambda: http_status(port, "POST", "/v1/chat/completions", body=b"{}") == 200, "upstream", upstream
        )
        url = f"http://{HOST}:{port}/v1/chat/completions"
        clients = ["httpx", "aiohttp", "junction"]
        if importlib.util.find_spec("httpx2") is not None:
            clients.insert(1, "httpx2")
        for concurrency, stream in ((16, False), (64, False), (64, True)):
            for name in clients:
                print(uvloop.run(measure(name, url, concurrency, stream)), flush=True)
    finally:
        upstream.terminate()
        upstream.wait()


if __name__ == "__main__":
    main()
