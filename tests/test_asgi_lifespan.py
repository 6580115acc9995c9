"""Shutdown loses nothing: pending settlements finish before the process exits."""

from __future__ import annotations

import asyncio
import gc

from billing import stages
from config.asgi import application


async def test_lifespan_shutdown_waits_for_pending_settlements():
    finished: list[bool] = []

    async def slow_settlement() -> None:
        await asyncio.sleep(0.2)
        finished.append(True)

    stages.run_soon(slow_settlement())
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message["type"])

    try:
        await application({"type": "lifespan"}, receive, send)
        # What startup had loaded is out of the collector's full passes.
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert finished == [True]
