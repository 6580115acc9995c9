"""Two upstreams for fallback tests: a flaky primary (the ``openai`` provider)
and the shared fake as the secondary (``openrouter``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.live import LiveServer


@dataclass
class Flaky:
    """Answers like OpenAI, or fails every call the way ``fail`` says:
    an HTTP status (429, 500, 503) or ``"slow"`` (no answer for 2 s); with
    ``only_key``, only the calls made with that API key fail."""

    inner: FakeOpenAI = field(default_factory=FakeOpenAI)
    fail: int | str | None = None
    only_key: str | None = None
    failures: int = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        if self.fail is None or (self.only_key is not None and auth != f"Bearer {self.only_key}"):
            return await self.inner(scope, receive, send)
        while (await receive()).get("more_body"):
            pass
        self.failures += 1
        if self.fail == "slow":
            await asyncio.sleep(2)
            status = 200
        else:
            status = int(self.fail)
        body = json.dumps(
            {"error": {"message": f"flaky {status}", "type": "server_error", "code": None}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @property
    def served(self) -> int:
        return len(self.inner.requests)

    def reset(self) -> None:
        self.inner.reset()
        self.fail = None
        self.only_key = None
        self.failures = 0


@pytest.fixture(scope="session")
def flaky_server() -> Iterator[tuple[Flaky, LiveServer]]:
    flaky = Flaky()
    server = LiveServer(flaky).start()
    yield flaky, server
    server.stop()


@dataclass
class Upstreams:
    primary: Flaky
    secondary: FakeOpenAI
    primary_url: str
    secondary_url: str


@pytest.fixture
def upstreams(flaky_server, fake_openai_server, settings) -> Upstreams:
    flaky, primary = flaky_server
    fake, secondary = fake_openai_server
    flaky.reset()
    fake.reset()
    creds = {slug: dict(v) for slug, v in settings.PROVIDER_CREDENTIALS.items()}
    creds["openai"] = {"api_key": "sk-platform-openai", "base_url": f"{primary.url}/v1"}
    creds["openrouter"] = {"api_key": "sk-platform-openrouter", "base_url": f"{secondary.url}/v1"}
    settings.PROVIDER_CREDENTIALS = creds
    return Upstreams(flaky, fake, f"{primary.url}/v1", f"{secondary.url}/v1")
