"""A large prompt is screened off the event loop, so one tenant's big
requests do not stall every other call the loop is serving."""

from __future__ import annotations

import asyncio
import threading

import pytest

from firewall import hooks
from firewall.engine import Engine
from firewall.engine.texts import process_request
from gateway.auth import Principal
from gateway.context import CallContext
from gateway.dialects import chat
from tests.firewall.helpers import rule

AWS = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture
def engine(monkeypatch):
    compiled = Engine.compile([rule(regex=r"AKIA[0-9A-Z]{16}")])

    async def engine_for(workspace_id: int) -> Engine:
        return compiled

    monkeypatch.setattr(hooks, "engine_for", engine_for)
    return compiled


def call_with(text: str) -> CallContext:
    ctx = CallContext(endpoint="chat.completions", dialect=chat, headers={})
    ctx.principal = Principal(1, "jk_x", "h", 1, "ws", "inference", None, False, True)
    ctx.attach(chat.decode({"model": "m", "messages": [{"role": "user", "content": text}]}, {}))
    return ctx


async def screen_recording_thread(monkeypatch, ctx: CallContext, body_size: int) -> int:
    threads: list[int] = []

    def recording(session, req):
        threads.append(threading.get_ident())
        process_request(session, req)

    monkeypatch.setattr(hooks, "process_request", recording)
    await hooks.screen_request(ctx, hooks.FirewallCall(), body_size=body_size)
    (thread,) = threads
    return thread


async def test_a_large_prompt_is_scanned_on_a_worker_thread_and_still_masked(engine, monkeypatch, settings):
    settings.FIREWALL_THREAD_SCAN_BYTES = 1_000
    text = ("filler text " * 200) + AWS
    ctx = call_with(text)
    thread = await screen_recording_thread(monkeypatch, ctx, body_size=len(text))
    assert thread != threading.get_ident()
    assert AWS not in str(ctx.request.raw) and "[" in ctx.request.raw["messages"][0]["content"]


async def test_a_small_prompt_is_scanned_inline(engine, monkeypatch, settings):
    settings.FIREWALL_THREAD_SCAN_BYTES = 1_000
    ctx = call_with(f"key {AWS}")
    assert await screen_recording_thread(monkeypatch, ctx, body_size=50) == threading.get_ident()
    assert AWS not in str(ctx.request.raw)


async def test_the_loop_keeps_serving_while_a_large_prompt_is_scanned(engine, monkeypatch, settings):
    settings.FIREWALL_THREAD_SCAN_BYTES = 1_000
    release = threading.Event()

    def slow_scan(session, req):  # a scan that takes as long as the test wants
        release.wait(5)
        process_request(session, req)

    monkeypatch.setattr(hooks, "process_request", slow_scan)
    ctx = call_with(("filler " * 500) + AWS)
    screening = asyncio.create_task(hooks.screen_request(ctx, hooks.FirewallCall(), body_size=4_000))
    await asyncio.sleep(0.05)  # would never return while the scan held the loop
    assert not screening.done()
    release.set()
    await screening
    assert AWS not in str(ctx.request.raw)
