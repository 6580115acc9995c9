"""The Docker files: what the image leaves out, static files served the way the
image serves them, the one-shot migrate service, the first workspace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from accounts.models import ApiKey, Workspace
from billing.models import CreditAccount
from tests.billing.test_ratelimit import _free_port

ROOT = Path(__file__).resolve().parents[2]


def test_dockerignore_leaves_out_local_state_and_secrets():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", "var", ".env", ".git"} <= ignored
    assert "!.env.example" in ignored


def test_the_image_installs_from_the_lock_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert (
        "COPY requirements.lock" in dockerfile
        and "pip install --no-cache-dir -r requirements.lock" in dockerfile
    )
    assert "collectstatic --noinput" in dockerfile


def _compose() -> list[str] | None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.mark.parametrize("with_env", [False, True])
def test_compose_config_passes_with_and_without_a_dot_env(tmp_path, with_env):
    compose = _compose()
    if compose is None:
        pytest.skip("docker compose is not installed")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    if with_env:
        shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    out = subprocess.run([*compose, "config"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    config = out.stdout
    # migrations run once, in their own service, before web, worker and beat start
    assert "migrate:" in config and "service_completed_successfully" in config
    assert config.count("condition: service_completed_successfully") == 3
    assert "bootstrap_workspace" in config


def test_static_files_are_served_as_in_the_image(tmp_path):
    """collectstatic as the Dockerfile runs it, then the production settings
    (no DEBUG, no finders) serve the console's files through WhiteNoise."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "JUNCTION_DATA_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": "collectstatic-only",
        "DJANGO_DEBUG": "0",
        "STATIC_FROM_FINDERS": "0",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--port",
            str(port),
            "--lifespan",
            "off",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/static/console/console.css", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert resp.status_code == 200 and "text/css" in resp.headers["content-type"]
        assert resp.text == (ROOT / "static/console/console.css").read_text()
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.django_db
def test_bootstrap_workspace_makes_the_first_workspace_once(monkeypatch, capsys):
    call_command("bootstrap_workspace")
    assert "unset" in capsys.readouterr().out and not Workspace.objects.exists()
    monkeypatch.setenv("JUNCTION_BOOTSTRAP_WORKSPACE", "acme")
    monkeypatch.setenv("JUNCTION_BOOTSTRAP_OWNER", "ops@acme.test")
    monkeypatch.setenv("JUNCTION_BOOTSTRAP_CREDITS", "500")
    call_command("bootstrap_workspace")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    workspace = Workspace.objects.get(slug="acme")
    assert secret.startswith("jk_") and ApiKey.objects.filter(workspace=workspace).count() == 1
    assert CreditAccount.objects.get(workspace=workspace).balance_units == 50_000
    call_command("bootstrap_workspace")  # the migrate service runs on every `up`
    assert "exists" in capsys.readouterr().out
    assert ApiKey.objects.filter(workspace=workspace).count() == 1
