"""The embedded beat: Celery beat's schedule, run inside the ASGI process.

With no broker (the embedded default, ``make run``: Celery is eager) nothing
runs ``CELERY_BEAT_SCHEDULE``, so the usage rollups behind the console's
charts, lease expiry, the files purge and the rest never happened. When
``EMBEDDED_BEAT`` is on (by default exactly when Celery is eager), the ASGI
lifespan starts an ``EmbeddedBeat``: an asyncio task that runs each entry's
task at its interval, capped at ``EMBEDDED_BEAT_MAX_SECONDS`` (a laptop
wants its charts within a minute, not ten), first
``EMBEDDED_BEAT_FIRST_DELAY`` seconds after startup. Each task runs on the
beat's one worker thread: the event loop never waits for the database, and
two tasks never overlap. Every scheduled task is idempotent, so a beat that
runs more often than production's costs only its queries.

In production (a broker) Celery beat runs the schedule and this is off;
tests turn it on when they want it (``config/settings_test.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections

from config.celery import app as celery_app

logger = logging.getLogger("junction.beat")


@dataclass(slots=True)
class BeatEntry:
    name: str
    task: str
    every: float  # seconds between runs
    due: float  # time.monotonic() of the next run


def interval_seconds(name: str, schedule: object) -> float:
    """An entry's interval. Only fixed intervals (seconds or a ``timedelta``):
    the schedule holds nothing else, and a crontab here would be refused
    rather than run at the wrong times."""
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float) and not isinstance(schedule, bool):
        return float(schedule)
    raise ValueError(f"beat entry {name!r}: the embedded beat runs fixed intervals only, not {schedule!r}")


def run_task(task_name: str) -> None:
    """Run one scheduled task in this thread (the beat's worker), as beat's
    worker would: errors are logged, never raised into the beat."""
    try:
        celery_app.tasks[task_name].apply(throw=True)
    except Exception:
        logger.exception("embedded beat: task %s failed", task_name)
    finally:
        close_old_connections()


class EmbeddedBeat:
    def __init__(
        self,
        *,
        schedule: Mapping[str, Mapping[str, object]],
        max_interval: float,
        first_delay: float,
    ) -> None:
        start = time.monotonic() + first_delay
        self.entries = [
            BeatEntry(
                name=name,
                task=str(entry["task"]),
                every=min(interval_seconds(name, entry["schedule"]), max_interval),
                due=start,
            )
            for name, entry in schedule.items()
        ]
        self.runs: dict[str, int] = {entry.name: 0 for entry in self.entries}
        celery_app.loader.import_default_modules()  # the apps' tasks.py, as a worker loads them
        unknown = sorted({e.task for e in self.entries} - set(celery_app.tasks))
        if unknown:
            raise ValueError(f"beat schedule names tasks no app defines: {', '.join(unknown)}")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="junction-beat")
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls) -> EmbeddedBeat:
        return cls(
            schedule=settings.CELERY_BEAT_SCHEDULE,
            max_interval=settings.EMBEDDED_BEAT_MAX_SECONDS,
            first_delay=settings.EMBEDDED_BEAT_FIRST_DELAY,
        )

    def start(self) -> None:
        if self.entries and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="junction-embedded-beat")
            logger.info("embedded beat: %d periodic tasks (no Celery beat in this setup)", len(self.entries))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            for entry in self.entries:
                if entry.due <= time.monotonic():
                    await loop.run_in_executor(self._executor, run_task, entry.task)
                    self.runs[entry.name] += 1
                    entry.due = time.monotonic() + entry.every
            await asyncio.sleep(max(min(e.due for e in self.entries) - time.monotonic(), 0.0))

    async def stop(self) -> None:
        """Stop scheduling, and wait for a task already running to finish
        (server shutdown: no task is cut off halfway through its writes)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
