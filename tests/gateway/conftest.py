"""Fake Anthropic and Gemini upstreams (live ASGI servers) and the Anthropic SDK client."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.live import LiveServer


def _configure(settings, slug: str, base_url: str) -> None:
    creds = {s: dict(v) for s, v in settings.PROVIDER_CREDENTIALS.items()}
    creds[slug] = {"api_key": f"{slug}-platform-test", "base_url": base_url}
    settings.PROVIDER_CREDENTIALS = creds


@pytest.fixture(scope="session")
def fake_anthropic_server() -> Iterator[tuple[FakeAnthropic, LiveServer]]:
    fake = FakeAnthropic()
    server = LiveServer(fake).start()
    yield fake, server
    server.stop()


@pytest.fixture
def fake_anthropic(fake_anthropic_server, settings) -> FakeAnthropic:
    """The fake Anthropic upstream, configured as the platform's anthropic provider."""
    fake, server = fake_anthropic_server
    fake.reset()
    _configure(settings, "anthropic", server.url)
    return fake


@pytest.fixture(scope="session")
def fake_gemini_server() -> Iterator[tuple[FakeGemini, LiveServer]]:
    fake = FakeGemini()
    server = LiveServer(fake).start()
    yield fake, server
    server.stop()


@pytest.fixture
def fake_gemini(fake_gemini_server, settings) -> FakeGemini:
    fake, server = fake_gemini_server
    fake.reset()
    _configure(settings, "gemini", f"{server.url}/v1beta")
    return fake


@pytest.fixture
def claude(junction, api_key) -> anthropic.Anthropic:
    """The official Anthropic SDK pointed at Junction (key sent as ``x-api-key``)."""
    return anthropic.Anthropic(api_key=api_key.secret, base_url=junction.url, max_retries=0, timeout=20)
