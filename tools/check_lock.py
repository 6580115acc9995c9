"""Is every dependency named in pyproject.toml pinned in the lock files?

`make install` runs it as a warning (a dependency added since the last
`make lock` still installs, unpinned); `make lock-check` fails on it."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pinned(lock: Path) -> set[str]:
    if not lock.exists():
        return set()
    names = set()
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==", line)
        if match:
            names.add(match.group(1).lower().replace("_", "-"))
    return names


def missing() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    dev = {_name(r) for r in project.get("optional-dependencies", {}).get("dev", [])}
    out = {
        "requirements.lock": sorted(runtime - pinned(ROOT / "requirements.lock")),
        "requirements-dev.lock": sorted((runtime | dev) - pinned(ROOT / "requirements-dev.lock")),
    }
    return {lock: names for lock, names in out.items() if names}


def main() -> int:
    strict = "--strict" in sys.argv
    gaps = missing()
    for lock, names in gaps.items():
        print(f"{'error' if strict else 'warning'}: {lock} does not pin {', '.join(names)}: run `make lock`")
    return 1 if gaps and strict else 0


if __name__ == "__main__":
    sys.exit(main())
