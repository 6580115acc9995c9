"""Concurrent callers that need the same value loaded share one load.

The per-process caches on the hot path (keys, catalog) expire under load
with dozens of calls in flight; without this, each of them ran its own
``sync_to_async`` load, one after another on asgiref's shared thread, and
the last waited for all the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Generic, TypeVar

V = TypeVar("V")


class SingleFlight(Generic[V]):
    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Task[V]] = {}

    async def run(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        """``load()``'s result; a call while the key's load runs waits for that one.
        Shielded: a caller that goes away does not cancel the others' load."""
        loop = asyncio.get_running_loop()
        task = self._running.get(key)
        if task is None or task.get_loop() is not loop:
            task = self._running[key] = loop.create_task(load())  # type: ignore[arg-type]
            task.add_done_callback(partial(self._done, key))
        return await asyncio.shield(task)

    def is_current(self, key: Hashable) -> bool:
        """In a load: whether it is still the key's load (not forgotten meanwhile)."""
        return self._running.get(key) is asyncio.current_task()

    def forget(self, key: Hashable) -> None:
        """Calls from now on start a new load (the running one finishes for its callers)."""
        self._running.pop(key, None)

    def clear(self) -> None:
        self._running.clear()

    def _done(self, key: Hashable, task: asyncio.Task[V]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: an error reaches the callers, not the loop's log
