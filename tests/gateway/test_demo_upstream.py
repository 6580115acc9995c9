"""The built-in demo upstream: the README's own Python examples run against it
with no provider key; /v1/models shows it; it is off once a provider is
configured and never on in the production shape."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers import wait_for_logs

ROOT = Path(__file__).resolve().parents[2]
HI = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def demo(junction, settings):
    """The demo upstream on, as `make run` configures it with no provider key."""
    settings.DEMO_PROVIDER = True
    settings.PROVIDER_CREDENTIALS = {
        **settings.PROVIDER_CREDENTIALS,
        "demo": {"api_key": "junction-demo", "base_url": f"{junction.url}/demo-upstream/v1"},
    }
    return junction


def readme_python_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Quickstart")
    quickstart = readme[start : readme.index("\n## ", start)]  # up to the next section
    return re.findall(r"```python\n(.*?)```", quickstart, flags=re.S)


def test_the_readme_examples_run_against_the_demo_model_as_written(demo, api_key):
    blocks = readme_python_blocks()
    assert len(blocks) == 2
    env = {**os.environ, "JUNCTION_API_KEY": api_key.secret}
    outputs = []
    for code in blocks:
        assert "http://127.0.0.1:8000" in code
        run = subprocess.run(
            [sys.executable, "-c", code.replace("http://127.0.0.1:8000", demo.url)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    chat, claude = outputs
    lines = chat.splitlines()
    assert lines[0].startswith("Echo: Say hello req_")  # the reply and its request id
    assert lines[1] == "Echo: Count to 3"  # the streamed Responses deltas
    assert "junction-demo" in lines[2]  # the models list
    assert claude.strip() == "Echo: Say hello"
    rows = [r for r in wait_for_logs(4) if r.endpoint != "models"]
    assert len(rows) == 3
    assert {r.model_used for r in rows} == {"junction-demo"} and {r.provider for r in rows} == {"demo"}
    assert all(r.status_code == 200 and r.input_tokens > 0 and r.output_tokens > 0 for r in rows)


def test_the_demo_streams_with_usage_and_costs_nothing(demo, client):
    stream = client.chat.completions.create(
        model="junction-demo", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: Say hello"
    assert chunks[-1].usage.completion_tokens == 3 and chunks[-1].usage.prompt_tokens == 3
    assert chunks[-1].model_extra["cost"] == 0
    (row,) = wait_for_logs()
    assert row.charged_units == 0 and row.stream


def test_models_list_shows_the_demo_only_while_it_is_on(demo, client, settings):
    assert [m.id for m in client.models.list()] == ["junction-demo"]
    demo_model = client.models.retrieve("junction-demo").model_extra
    assert demo_model["providers"] == ["demo"] and demo_model["pricing"]["output"] == "0.000000"
    settings.DEMO_PROVIDER = False
    settings.PROVIDER_CREDENTIALS = {**settings.PROVIDER_CREDENTIALS, "demo": {"api_key": "", "base_url": ""}}
    assert client.models.list().data == []


def test_the_demo_upstream_answers_404_when_off(junction, settings):
    settings.DEMO_PROVIDER = False
    resp = httpx.post(f"{junction.url}/demo-upstream/v1/chat/completions", json={"messages": HI})
    assert resp.status_code == 404 and "error" in resp.json()


def demo_setting(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k not in ("DATABASE_URL",)}
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEMO_PROVIDER)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_the_demo_is_on_only_without_providers_and_never_in_production():
    assert demo_setting() == "True"
    assert demo_setting(OPENAI_API_KEY="sk-real") == "False"
    assert demo_setting(JUNCTION_DEMO_PROVIDER="0") == "False"
    assert demo_setting(DATABASE_URL="postgres://x@127.0.0.1:1/x") == "False"
    assert demo_setting(DJANGO_SECURE="1", JUNCTION_DEMO_PROVIDER="1") == "False"
    strong = {"DJANGO_SECRET_KEY": "x" * 64, "PROVIDER_KEY_ENCRYPTION_KEYS": "a" * 43 + "="}
    assert demo_setting(JUNCTION_PRODUCTION="1", JUNCTION_DEMO_PROVIDER="1", **strong) == "False"
