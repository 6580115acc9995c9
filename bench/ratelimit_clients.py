"""The rate limiter's admission script over each Redis client, side by side:
CPU microseconds per call of this process (client + event loop) at a given
concurrency, alternating rounds. ``python -m bench.ratelimit_clients
[redis://127.0.0.1:6379/11] [--calls 20000] [--concurrency 16] [--rounds 3]``.

CPU time, not wall time: on a shared machine the wall clock measures the
neighbours; the CPU a call costs this process is what it takes from the
gateway's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import redis.asyncio as aredis
from redis.exceptions import NoScriptError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from billing.ratelimit import ADMIT_SCRIPT, CONCURRENCY_TTL_SECONDS, WINDOW_SECONDS
from billing.redis_pipe import PipelinedRedis


def admit_args(i: int) -> tuple[list[str], list[int]]:
    keys = [f"bench-rl:rpm:{i % 50}", f"bench-rl:tpm:{i % 50}", f"bench-rl:conc:{i % 10}"]
    return keys, [100_000_000, 2_000_000_000, 0, 20, WINDOW_SECONDS * 2, CONCURRENCY_TTL_SECONDS]


async def run(call, calls: int, concurrency: int) -> float:
    """CPU us per call."""
    counter = iter(range(calls))

    async def worker() -> None:
        for i in counter:
            await call(i)

    await call(0)  # connected, script loaded
    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - started) / calls * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    pipe = PipelinedRedis(args.url, timeout=0.5)
    client = aredis.Redis.from_url(args.url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def over_pipe(i: int) -> object:
        keys, argv = admit_args(i)
        return await pipe.evalsha(ADMIT_SCRIPT, keys=keys, args=argv)

    async def over_redis_py(i: int) -> object:
        keys, argv = admit_args(i)
        try:
            return await client.evalsha(ADMIT_SCRIPT.sha, len(keys), *keys, *argv)
        except NoScriptError:
            return await client.eval(ADMIT_SCRIPT.source, len(keys), *keys, *argv)

    results: dict[str, list[float]] = {"redis_pipe": [], "redis-py": []}
    for _ in range(args.rounds):
        results["redis_pipe"].append(await run(over_pipe, args.calls, args.concurrency))
        results["redis-py"].append(await run(over_redis_py, args.calls, args.concurrency))
    for name, values in results.items():
        print(f"{name:10} CPU us/call, median of {args.rounds}: {statistics.median(values):7.1f}  {values}")
    pipe.close()
    await client.aclose()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
