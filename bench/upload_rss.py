"""Peak RSS of a Junction server while N clients each upload a file at once.

    .venv/bin/python -m bench.upload_rss [--clients 10] [--mb 25]

Starts uvicorn (one process, config.asgi) on a scratch data directory,
reads its resident memory at rest, runs the uploads concurrently through
POST /v1/files, then reads the kernel's high-water mark (VmHWM) of the
server process. Reports both and the growth over idle.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(env: dict[str, str]) -> str:
    """Migrate a scratch database and make a funded workspace key."""
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = (
        "from accounts.models import Workspace; from accounts.services import api_key_create;"
        "ws = Workspace.objects.create(slug='bench', name='Bench');"
        "print(api_key_create(workspace=ws, name='bench')[1])"
    )
    out = subprocess.run(
        [py, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


async def upload(url: str, key: str, size: int) -> int:
    async def body():
        boundary = b"benchboundary"
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n'
        yield (
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
        )
        block = b"x" * (1024 * 1024)
        sent = 0
        while sent < size:
            piece = block[: min(len(block), size - sent)]
            sent += len(piece)
            yield piece
        yield b"\r\n--" + boundary + b"--\r\n"

    headers = {
        "authorization": f"Bearer {key}",
        "content-type": "multipart/form-data; boundary=benchboundary",
    }
    async with httpx.AsyncClient(timeout=300) as client:
        resp = await client.post(f"{url}/v1/files", content=body(), headers=headers)
    return resp.status_code


async def upload_all(url: str, key: str, clients: int, size: int) -> tuple[list[int], float]:
    started = time.perf_counter()
    codes = await asyncio.gather(*(upload(url, key, size) for _ in range(clients)))
    return list(codes), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--mb", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="junction-rss-") as data_dir:
        env = {**os.environ, "JUNCTION_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "config.settings"}
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "S3_BUCKET"):
            env.pop(name, None)
        key = setup(env)
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            asyncio.run(upload_all(url, key, 1, 1024))  # warm: imports, connections
            idle = status_kb(server.pid, "VmRSS")
            codes, elapsed = asyncio.run(upload_all(url, key, args.clients, args.mb * 1024 * 1024))
            peak = status_kb(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(10)
    print(f"{args.clients} x {args.mb} MB uploads: statuses {sorted(set(codes))}, {elapsed:.1f}s")
    print(
        f"idle RSS {idle / 1024:.0f} MB, peak RSS {peak / 1024:.0f} MB, growth {(peak - idle) / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
