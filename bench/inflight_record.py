"""What a durable in-flight record would cost a /v1 call (issue 18, item 1).

The record: one row written before dispatch (so a call the upstream serves
while the process is killed can be logged and charged after a restart) and
deleted at settle. This times exactly that pair of statements as the hot path
would run them (Django ORM on asgiref's thread, ``sync_to_async`` from the
event loop), at c=1 and c=16, against PostgreSQL, and reports the added
latency per call and the process CPU per call. Not run by CI.

    DATABASE_URL=postgres://... .venv/bin/python bench/inflight_record.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.db import connection  # noqa: E402

CALLS = int(os.environ.get("CALLS", "2000"))
TABLE = "bench_inflight_record"


def _insert(request_id: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (request_id, workspace_id, hold_units, started) VALUES (%s, %s, %s, now())",
            [request_id, 1, 3600],
        )


def _delete(request_id: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE request_id = %s", [request_id])


async def one() -> float:
    request_id = f"req_{uuid.uuid4().hex}"
    started = time.perf_counter()
    # On the thread pool (not asgiref's one thread): the hot path's borrows run there too.
    await sync_to_async(_insert, thread_sensitive=False)(request_id)
    await sync_to_async(_delete, thread_sensitive=False)(request_id)
    return time.perf_counter() - started


async def run(concurrency: int) -> tuple[float, float, float]:
    latencies: list[float] = []
    queue = iter(range(CALLS))

    async def worker() -> None:
        for _ in queue:
            latencies.append(await one())

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return statistics.median(latencies) * 1000, cpu / CALLS * 1e6, CALLS / wall


def main() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (request_id varchar(40) PRIMARY KEY, "
            "workspace_id bigint, hold_units bigint, started timestamptz)"
        )
    try:
        for concurrency in (1, 16):
            p50, cpu_us, rate = asyncio.run(run(concurrency))
            print(f"c={concurrency:<3} added p50 {p50:.2f} ms  CPU {cpu_us:.0f} us/call  {rate:.0f} calls/s")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


if __name__ == "__main__":
    main()
