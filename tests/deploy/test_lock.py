"""The lock files: every dependency pinned, the two locks agreeing, installs
going through them, and a dependency added since the last `make lock`
reported (not silently unpinned)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import check_lock  # noqa: E402 (a script, not a package)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {
        m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+)", text, flags=re.M)
    }


def test_the_dev_lock_pins_the_runtime_lock_versions():
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert runtime and set(runtime) <= set(dev)
    assert {name: dev[name] for name in runtime} == runtime


def test_every_line_of_the_locks_is_pinned_exactly():
    for lock in ("requirements.lock", "requirements-dev.lock"):
        for line in (ROOT / lock).read_text().splitlines():
            if line and not line.startswith("#") and not line.startswith(" "):
                assert "==" in line, f"{lock}: {line}"


def test_a_dependency_missing_from_the_lock_is_reported(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\ndependencies = ["Django>=5", "brand-new-lib>=1"]\n'
        '[project.optional-dependencies]\ndev = ["pytest>=8"]\n'
    )
    (tmp_path / "requirements.lock").write_text("django==5.2.1\n    # via junction\n")
    (tmp_path / "requirements-dev.lock").write_text("django==5.2.1\npytest==8.3.0\n")
    monkeypatch.setattr(check_lock, "ROOT", tmp_path)
    assert check_lock.missing() == {
        "requirements.lock": ["brand-new-lib"],
        "requirements-dev.lock": ["brand-new-lib"],
    }
    monkeypatch.setattr(sys, "argv", ["check_lock.py", "--strict"])
    assert check_lock.main() == 1
    assert "run `make lock`" in capsys.readouterr().out


def test_make_and_docker_install_from_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q -r requirements.lock" in makefile
    assert "pip install -q -r requirements-dev.lock" in makefile
    assert re.search(r"^lock: ", makefile, flags=re.M)
    assert "pip install --no-cache-dir -r requirements.lock" in (ROOT / "Dockerfile").read_text()
