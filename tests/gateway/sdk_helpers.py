"""Feed bytes Junction produced to the official ``openai`` SDK, with no network."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import openai


def sdk_client(body: bytes, *, stream: bool, status: int = 200) -> openai.OpenAI:
    """An SDK client whose every request is answered with ``body``."""
    content_type = "text/event-stream" if stream else "application/json"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    return recording_client(handler)


def recording_client(handler: Callable[[httpx.Request], httpx.Response]) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test",
        base_url="http://junction.test/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
