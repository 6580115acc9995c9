"""Junction's overhead, side by side in one go.

Starts the fake upstream, the aiohttp pass-through and Junction (uvicorn, one
worker, a throwaway SQLite database, key auth and request logging on), runs
every scenario against the upstream directly, through the pass-through and
through Junction, and prints what each adds over calling the upstream
directly, with Junction's ratio to the pass-through.

    .venv/bin/python -m bench.run            # ~1 minute
    .venv/bin/python -m bench.run --quick    # shorter windows, noisier numbers

Only 127.0.0.1 is used. Results also go to bench/results/<time>.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import uvloop

from bench.loadgen import Load, Result, Target, run_load
from bench.report import report, row_stats, verdicts

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CHAT_PATH = "/v1/chat/completions"
UPSTREAM_LATENCY_MS = 1.0
STREAM_CHUNKS = 20
STREAM_GAP_MS = 5.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    load: Load


SCENARIOS = [
    Scenario("json c=1", Load(concurrency=1, duration=3.0, max_requests=5_000)),
    Scenario("json c=16", Load(concurrency=16, duration=4.0, max_requests=100_000)),
    Scenario("stream c=1", Load(concurrency=1, duration=3.0, stream=True, chunks=STREAM_CHUNKS)),
    Scenario("stream c=64", Load(concurrency=64, duration=4.0, stream=True, chunks=STREAM_CHUNKS)),
]
TARGETS = ("direct", "passthrough", "junction")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_until(ready, what: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready in {timeout:.0f}s")


def http_status(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        return conn.getresponse().status
    finally:
        conn.close()


def start(
    stack: ExitStack, args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    out = stack.enter_context(log.open("wb"))
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    stack.callback(stop)
    return proc


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def junction_env(data_dir: Path, upstream_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        JUNCTION_DATA_DIR=str(data_dir),
        OPENAI_BASE_URL=f"http://{HOST}:{upstream_port}/v1",
        OPENAI_API_KEY="sk-bench-upstream",
        DJANGO_DEBUG="0",
        LOG_LEVEL="WARNING",
        # No periodic rollups over the bench's own log rows in the middle of a
        # measurement (the embedded beat runs them on embedded defaults).
        JUNCTION_EMBEDDED_BEAT="0",
    )
    # The production shape: BENCH_DATABASE_URL (an empty PostgreSQL database)
    # and BENCH_REDIS_URL; unset, Junction runs on its embedded defaults.
    for name in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(f"BENCH_{name}"):
            env[name] = os.environ[f"BENCH_{name}"]
    return env


def prepare_junction(env: dict[str, str]) -> str:
    """Migrate, load the catalog, make a workspace and an inference key."""
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "sync_catalog")
    # Funded, on a plan whose limits are far above the load: the rate limiter
    # and the reservations still run on every call, they just never refuse.
    manage(env, "create_workspace", "bench", "--owner", "bench@example.com", "--credits", "100000000")
    manage(
        env,
        "shell",
        "-c",
        "from billing.models import Plan; Plan.objects.update_or_create(slug='bench', defaults=dict("
        "name='Bench', rpm_limit=100_000_000, tpm_limit=2_000_000_000, max_concurrency=100_000))",
    )
    manage(env, "set_plan", "bench", "bench")
    return manage(env, "create_api_key", "bench", "--name", "bench").strip().splitlines()[-1]


def cpu_clock(pid: int):  # type: ignore[no-untyped-def]
    """CPU seconds so far (user + system, all threads) of the process and its
    children (a server that runs its worker in a child process), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")

    def tree(root: int) -> list[int]:
        pids = [root]
        for children in Path(f"/proc/{root}/task").glob("*/children"):
            for child in children.read_text().split():
                pids += tree(int(child))
        return pids

    def read() -> float:
        total = 0
        for each in tree(pid):
            try:
                fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone between the listing and the read
            total += int(fields[11]) + int(fields[12])
        return total / tick

    if not Path(f"/proc/{pid}/stat").exists():
        return None
    return read


def count_rows(db: Path) -> tuple[int, int]:
    """(request log rows, charge ledger entries) Junction wrote, from its database."""
    queries = (
        "SELECT count(*) FROM gateway_requestlog",
        "SELECT count(*) FROM billing_ledgerentry WHERE kind = 'charge'",
    )
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as pg:
            return tuple(pg.execute(q).fetchone()[0] for q in queries)  # type: ignore[return-value]
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute(q).fetchone()[0] for q in queries)  # type: ignore[return-value]


# ------------------------------------------------------------------- main


# Each ASGI server Junction can be measured under: one worker, uvloop.
SERVERS = {
    "uvicorn": lambda port: [
        sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", HOST, "--port", str(port),
        "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--lifespan", "on",
    ],
    "granian": lambda port: [
        sys.executable, "-m", "granian", "config.asgi:application", "--interface", "asgi", "--host", HOST,
        "--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "1", "--no-ws",
    ],
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="halve every measured window")
    parser.add_argument("--scenarios", default="", help="comma-separated subset, e.g. 'json c=16'")
    parser.add_argument(
        "--targets", default=",".join(TARGETS), help="comma-separated subset of " + ", ".join(TARGETS)
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, server logs)")
    parser.add_argument(
        "--server", choices=sorted(SERVERS), default="uvicorn", help="the ASGI server that runs Junction"
    )
    parser.add_argument(
        "--hold", type=float, default=0.0, help="pause N seconds before measuring (attach py-spy)"
    )
    args = parser.parse_args()
    targets = [t for t in args.targets.split(",") if t]
    wanted = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    scenarios = [s for s in SCENARIOS if not wanted or s.name in wanted]
    if args.quick:
        scenarios = [replace(s, load=replace(s.load, duration=s.load.duration / 2)) for s in scenarios]

    tmp = Path(tempfile.mkdtemp(prefix="junction-bench-"))
    ports = {name: free_port() for name in ("upstream", "passthrough", "junction")}
    pids: dict[str, int] = {}
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            upstream = start(
                stack,
                [
                    sys.executable, "-m", "bench.fake_upstream", "--host", HOST, "--port", str(ports["upstream"]),
                    "--latency-ms", str(UPSTREAM_LATENCY_MS), "--chunks", str(STREAM_CHUNKS),
                    "--gap-ms", str(STREAM_GAP_MS),
                ],
                tmp / "upstream.log",
            )  # fmt: skip
            pids["direct"] = upstream.pid
            wait_until(
                lambda: http_status(ports["upstream"], "POST", CHAT_PATH, body=b"{}") == 200,
                "upstream",
                upstream,
            )
            key = "sk-bench"
            if "passthrough" in targets:
                passthrough = start(
                    stack,
                    [
                        sys.executable, "-m", "bench.passthrough", "--host", HOST, "--port", str(ports["passthrough"]),
                        "--upstream", f"http://{HOST}:{ports['upstream']}",
                    ],
                    tmp / "passthrough.log",
                )  # fmt: skip
                pids["passthrough"] = passthrough.pid
                wait_until(
                    lambda: http_status(ports["passthrough"], "POST", CHAT_PATH, body=b"{}") == 200,
                    "passthrough",
                    passthrough,
                )
            if "junction" in targets:
                env = junction_env(tmp, ports["upstream"])
                key = prepare_junction(env)
                junction = start(
                    stack, SERVERS[args.server](ports["junction"]), tmp / "junction.log", env=env
                )
                pids["junction"] = junction.pid
                auth = {"authorization": f"Bearer {key}"}
                wait_until(
                    lambda: http_status(ports["junction"], "GET", "/v1/models", auth) == 200,
                    "junction",
                    junction,
                )
                print(f"junction: {args.server} pid {junction.pid}, data dir {tmp}", flush=True)
            if args.hold:
                print(f"holding {args.hold:.0f}s; ports {ports}; key {key}", flush=True)
                time.sleep(args.hold)

            results: dict[str, dict[str, Result]] = {}
            for scenario in scenarios:
                results[scenario.name] = {}
                for name in targets:
                    load = replace(scenario.load, api_key=key if name == "junction" else "sk-bench")
                    result = uvloop.run(
                        run_load(
                            Target(HOST, ports[name if name != "direct" else "upstream"], CHAT_PATH),
                            load,
                            cpu_clock(pids[name]),
                        )
                    )
                    results[scenario.name][name] = result
                    print(
                        f"  {scenario.name:<12} {name:<12} {result.requests:>6} requests, {result.errors} errors",
                        flush=True,
                    )
                    if result.first_error:
                        print(f"    first error: {result.first_error}", flush=True)
        # Every server is stopped here; Junction drained its request-log queue.
        logged, charged = count_rows(tmp / "junction.sqlite3") if "junction" in targets else (0, 0)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(
        f"fake upstream: {UPSTREAM_LATENCY_MS:g} ms latency; streams of {STREAM_CHUNKS} chunks {STREAM_GAP_MS:g} ms apart; "
        f"model gpt-4o-mini; {os.cpu_count()} CPUs"
    )
    print()
    print("\n".join(report(results)))
    if "junction" in targets:
        sent = sum(r.requests + r.errors for by_target in results.values() for r in [by_target["junction"]])
        print(
            f"written by Junction: {logged} request log rows, {charged} ledger charges "
            f"(measured requests: {sent}, plus warm-up)"
        )
        print()
        print("\n".join(verdicts(results)))
    print(f"\ntotal time {time.monotonic() - started:.0f}s")
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    payload = {
        scenario: {
            name: {**asdict(r), "latencies": None, "ttfts": None, **row_stats(r)} for name, r in by.items()
        }
        for scenario, by in results.items()
    }
    (out_dir / time.strftime("%Y%m%dT%H%M%S.json")).write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
