"""A soak: Junction under a steady mixed load in front of an unreliable
upstream, then the books checked (issue 18). Not run by CI.

c=``--concurrency`` (32) clients, half streaming, for ``--minutes`` (30),
against Junction (uvicorn, ``--workers`` 2) in front of a fake OpenAI upstream
that answers 500 to 2 % of calls, cuts 1 % of streams after a few chunks and
hangs 0.5 % (past ``UPSTREAM_READ_TIMEOUT``). Halfway through it runs
``--restart-redis`` / ``--restart-postgres`` (shell commands, e.g.
``"systemctl restart redis"``), when given: never against servers others use.

At the end, after the writers drained: requests sent vs request-log rows (equal),
ledger charges vs log rows with a charge (equal) and their sums (equal),
``verify_ledger``, each worker's RSS at minute 1 and at the end, and the
PostgreSQL connections Junction held (peak).

    BENCH_DATABASE_URL=postgres://.../empty_db BENCH_REDIS_URL=redis://... \\
        .venv/bin/python -m bench.soak --minutes 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from aiohttp import web

from bench.run import HOST, free_port, http_status, junction_env, manage, prepare_junction, start, wait_until

REPO = Path(__file__).resolve().parent.parent
HANG_SECONDS = 30.0
READ_TIMEOUT = "5"
WINDOW = 10  # seconds per bucket of the answers' timeline


# --------------------------------------------------------------- upstream


def _chunk(i: int, text: str) -> bytes:
    delta = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return f"data: {json.dumps({'id': f'c{i}', 'object': 'chat.completion.chunk', **delta})}\n\n".encode()


async def _chat(request: web.Request) -> web.StreamResponse:
    try:
        return await _answer(request)
    except ConnectionResetError:  # Junction gave up on a hung call: nobody to answer
        return web.Response(status=499)


async def _answer(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    roll = request.app["random"].random()
    if roll < 0.02:
        return web.json_response({"error": {"message": "flaky", "type": "server_error"}}, status=500)
    if roll < 0.025:
        await asyncio.sleep(HANG_SECONDS)
    usage = {"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22}
    if not body.get("stream"):
        message = {"role": "assistant", "content": "soak " * 10}
        return web.json_response(
            {
                "id": "c",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage,
            }
        )
    resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await resp.prepare(request)
    cut = roll < 0.035
    for i in range(10):
        await resp.write(_chunk(i, "soak "))
        await asyncio.sleep(0.005)
        if cut and i == 3:
            assert request.transport is not None
            request.transport.close()
            return resp
    if (body.get("stream_options") or {}).get("include_usage"):
        await resp.write(f"data: {json.dumps({'id': 'c', 'choices': [], 'usage': usage})}\n\n".encode())
    await resp.write(b"data: [DONE]\n\n")
    return resp


def serve_upstream(port: int) -> None:
    app = web.Application()
    app["random"] = random.Random(18)
    app.router.add_post("/v1/chat/completions", _chat)
    web.run_app(app, host=HOST, port=port, print=None, handle_signals=False)


# ------------------------------------------------------------------- load


def count(tally: dict[str, int], timeline: dict[int, dict[str, int]], started: float, outcome: str) -> None:
    tally[outcome] = tally.get(outcome, 0) + 1
    window = timeline.setdefault(int((time.monotonic() - started) // WINDOW), {})
    window[outcome] = window.get(outcome, 0) + 1


async def load(
    url: str,
    key: str,
    concurrency: int,
    seconds: float,
    tally: dict[str, int],
    timeline: dict[int, dict[str, int]],
) -> None:
    started = time.monotonic()
    deadline = started + seconds
    headers = {"authorization": f"Bearer {key}"}

    async def client(n: int) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            i = 0
            while time.monotonic() < deadline:
                i += 1
                body = {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": f"soak {n} {i}"}],
                    "max_tokens": 50,
                    "stream": (n + i) % 2 == 0,
                }
                tally["sent"] += 1
                try:
                    async with http.stream("POST", url, headers=headers, json=body) as resp:
                        async for _ in resp.aiter_bytes():
                            pass
                    count(tally, timeline, started, str(resp.status_code))
                except httpx.HTTPError as exc:
                    count(tally, timeline, started, type(exc).__name__)

    await asyncio.gather(*[client(n) for n in range(concurrency)])


# ---------------------------------------------------------------- measure


def workers(pid: int) -> list[int]:
    return [int(c) for p in Path(f"/proc/{pid}/task").glob("*/children") for c in p.read_text().split()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pg_connections(url: str) -> int | None:
    """Junction's connections to its database now; None without PostgreSQL or
    while it is down (the restart)."""
    if not url:
        return None
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as pg:
            row = pg.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return None


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def books(env: dict[str, str]) -> dict[str, int]:
    script = (
        "import json; from django.db.models import Sum;"
        "from gateway.models import RequestLog; from billing.models import LedgerEntry;"
        "charged = RequestLog.objects.filter(charged_units__gt=0);"
        "charges = LedgerEntry.objects.filter(kind='charge');"
        "print(json.dumps(dict(log_rows=RequestLog.objects.count(), log_rows_charged=charged.count(),"
        " log_charged_units=charged.aggregate(s=Sum('charged_units'))['s'] or 0,"
        " ledger_charges=charges.count(), ledger_charged_units=-(charges.aggregate(s=Sum('amount_units'))['s'] or 0))))"
    )
    return json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--restart-redis", default="")
    parser.add_argument("--restart-postgres", default="")
    parser.add_argument("--server-log", default="", help="keep Junction's log here (default: bench/results/)")
    args = parser.parse_args()
    seconds = args.minutes * 60
    server_log = Path(
        args.server_log or REPO / "bench" / "results" / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.log"
    )
    server_log.parent.mkdir(parents=True, exist_ok=True)

    upstream_port, junction_port = free_port(), free_port()
    threading.Thread(target=serve_upstream, args=(upstream_port,), daemon=True).start()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        env = junction_env(Path(tmp), upstream_port) | {"UPSTREAM_READ_TIMEOUT": READ_TIMEOUT}
        key = prepare_junction(env)
        server = start(
            stack,
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", HOST, "--port",
             str(junction_port), "--workers", str(args.workers), "--lifespan", "on", "--no-access-log"],
            server_log,
            env,
        )  # fmt: skip
        wait_until(lambda: http_status(junction_port, "GET", "/healthz") == 200, "junction", server, 60)
        tally: dict[str, int] = {"sent": 0}
        timeline: dict[int, dict[str, int]] = {}
        samples: dict[str, object] = {"load_average_start": load_average()}
        loads: list[list[float]] = []
        restarts: list[dict[str, object]] = []
        outages: list[tuple[float, float]] = []  # (from, to) seconds into the load, per restart
        db_url = env.get("DATABASE_URL", "")

        async def watch() -> None:
            await asyncio.sleep(min(60.0, seconds / 2))
            samples["rss_minute_1"] = {w: round(rss_mb(w), 1) for w in workers(server.pid)}
            peak = 0
            restarted = False
            started = time.monotonic()
            while time.monotonic() - started < seconds - 60:
                peak = max(peak, await asyncio.to_thread(pg_connections, db_url) or 0)
                loads.append(load_average())
                if not restarted and time.monotonic() - started > (seconds - 60) / 2:
                    restarted = True
                    for what, command in (("redis", args.restart_redis), ("postgres", args.restart_postgres)):
                        if command:
                            at = time.monotonic() - load_started
                            restart = await asyncio.create_subprocess_shell(command)
                            status = await restart.wait()
                            end = time.monotonic() - load_started
                            outages.append((at, end))
                            restarts.append(
                                {"what": what, "from_s": round(at, 1), "to_s": round(end, 1), "exit": status}
                            )
                await asyncio.sleep(5)
            samples["pg_connections_peak"] = peak if db_url else "n/a (SQLite)"

        async def both() -> None:
            url = f"http://{HOST}:{junction_port}/v1/chat/completions"
            await asyncio.gather(load(url, key, args.concurrency, seconds, tally, timeline), watch())

        load_started = time.monotonic()
        asyncio.run(both())
        elapsed = time.monotonic() - load_started
        samples["rss_end"] = {w: round(rss_mb(w), 1) for w in workers(server.pid)}
        time.sleep(3)  # the writers' last batches
        server.terminate()
        server.wait(30)  # lifespan shutdown: everything written, every lease returned
        verify = subprocess.run(
            [sys.executable, "manage.py", "verify_ledger"], cwd=REPO, env=env, capture_output=True, text=True
        )
        result = {
            "minutes": args.minutes,
            "concurrency": args.concurrency,
            "answers": tally,
            "requests_per_second": round(tally["sent"] / elapsed, 1),
            **books(env),
            "verify_ledger": (verify.stdout + verify.stderr).strip(),
            **samples,
            "load_average_1min": {
                "min": min((x[0] for x in loads), default=None),
                "median": sorted(x[0] for x in loads)[len(loads) // 2] if loads else None,
                "max": max((x[0] for x in loads), default=None),
            },
            "restarts": restarts,
            "server_log": str(server_log),
            # every window with an answer other than 200, and the windows around the restarts
            "timeline": {
                f"{w * WINDOW}-{(w + 1) * WINDOW}s": answers
                for w, answers in sorted(timeline.items())
                if set(answers) != {"200"}
                or any(a - 2 * WINDOW <= w * WINDOW <= b + 2 * WINDOW for a, b in outages)
            },
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
