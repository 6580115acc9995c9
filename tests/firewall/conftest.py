from __future__ import annotations

from collections.abc import Iterator

import pytest

from firewall.runtime import engine_cache


@pytest.fixture(autouse=True)
def _fresh_engines() -> Iterator[None]:
    # Workspace ids are reused between tests: never keep an engine across them.
    engine_cache.clear()
    yield
    engine_cache.clear()
