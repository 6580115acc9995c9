"""Image jobs on a real Celery worker (the PostgreSQL + Redis pass only): the
web process hands the job to the broker, a ``celery -A config worker``
process runs it; a client that disconnects mid-job still gets its image
stored and charged exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from billing.models import LedgerEntry
from files.models import GeneratedImage, ImageJob
from tests.helpers import wait_for_logs

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not django_settings.REDIS_URL or connection.vendor != "postgresql",
        reason="a Celery worker needs the broker (REDIS_URL) and a database another process can open",
    ),
]


@pytest.fixture
def celery_worker(junction, fake_openai, fake_openai_server, settings) -> Iterator[subprocess.Popen]:
    _, server = fake_openai_server
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": django_settings.REDIS_URL,
        "JUNCTION_WORKER_OPENAI_KEY": "sk-platform-test",
        "JUNCTION_WORKER_OPENAI_URL": f"{server.url}/v1",
        "JUNCTION_WORKER_FILES_ROOT": str(django_settings.FILES_ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.images.worker_settings",
    }
    settings.IMAGES_JOBS_IN_PROCESS = False
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_worker_runs_the_job_and_charges_once_when_the_client_left(
    client, fake_openai, celery_worker, junction
):
    body = json.dumps({"model": "gpt-image-1", "prompt": "[[hold]] a fox on a worker"}).encode()
    host, port = junction.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/images/generations HTTP/1.1\r\nhost: junction\r\ncontent-type: application/json\r\n"
            + f"authorization: Bearer {client.api_key}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        deadline = time.monotonic() + 60  # the worker starts
        while not fake_openai.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        last = ImageJob.objects.order_by("-id").first()
        assert fake_openai.requests, (
            f"the worker never called the upstream: {last and (last.status, last.error)}"
        )
    fake_openai.images.release.set()
    deadline = time.monotonic() + 30
    job = None
    while time.monotonic() < deadline:
        job = ImageJob.objects.order_by("-id").first()
        if job is not None and job.status == "succeeded":
            break
        time.sleep(0.1)
    assert job is not None and job.status == "succeeded", job and (job.status, job.error)
    (image,) = GeneratedImage.objects.filter(request_id=job.request_id)
    (charge,) = LedgerEntry.objects.filter(kind="charge", request_id=job.request_id)
    assert -charge.amount_units == image.cost_units > 0
    (log,) = wait_for_logs(request_id=job.request_id, timeout=15)
    assert log.charged_units == image.cost_units


def test_worker_answers_the_waiting_client(client, fake_openai, celery_worker):
    result = client.with_options(timeout=90).images.generate(
        model="gpt-image-1", prompt="a fox", quality="low"
    )
    assert result.data[0].url and (result.model_extra or {})["cost"] > 0
