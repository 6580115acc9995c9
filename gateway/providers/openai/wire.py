"""The OpenAI wire shared by both halves of the provider: paths, headers,
usage objects and the error body (also what OpenAI-compatible servers send)."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.canonical import CanonicalRequest, Dialect, Usage, WebSearchTool
from gateway.errors import GatewayError
from gateway.providers.errors import classify

PATHS = {
    Dialect.CHAT: "/chat/completions",
    Dialect.RESPONSES: "/responses",
    Dialect.EMBEDDINGS: "/embeddings",
}


def auth_headers(api_key: str) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


def _int(d: Any, *path: str) -> int:
    for key in path:
        if not isinstance(d, dict):
            return 0
        d = d.get(key)
    return d if isinstance(d, int) else 0


def usage_from_chat(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    return Usage(
        input_tokens=_int(usage, "prompt_tokens"),
        cached_input_tokens=_int(usage, "prompt_tokens_details", "cached_tokens"),
        output_tokens=_int(usage, "completion_tokens"),
        reasoning_tokens=_int(usage, "completion_tokens_details", "reasoning_tokens"),
    )


def usage_from_responses(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    return Usage(
        input_tokens=_int(usage, "input_tokens"),
        cached_input_tokens=_int(usage, "input_tokens_details", "cached_tokens"),
        output_tokens=_int(usage, "output_tokens"),
        reasoning_tokens=_int(usage, "output_tokens_details", "reasoning_tokens"),
    )


def count_hosted_calls(usage: Usage, output: Any) -> Usage:
    """Add the hosted tool calls a Responses ``output`` list holds (billed per
    call: ``web_search_call``, ``image_generation_call``) to ``usage``."""
    for raw in output if isinstance(output, list) else []:
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "web_search_call":
            usage.web_search_calls += 1
        elif kind == "image_generation_call" and raw.get("status") != "failed":
            usage.images += 1
    return usage


def count_chat_search(req: CanonicalRequest, usage: Usage) -> Usage:
    """A chat answer to ``web_search_options`` reports no search count, but
    OpenAI's search models search on every such call (and bill it): one."""
    if req.dialect is Dialect.CHAT and not usage.web_search_calls:
        usage.web_search_calls = int(any(isinstance(t, WebSearchTool) for t in req.tools))
    return usage


def map_error(*, status: int, body: bytes, headers: dict[str, str], provider: str) -> GatewayError:
    """An OpenAI-format error body (also what OpenAI-compatible servers send)."""
    raw: Any
    try:
        raw = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        raw = body[:2000].decode("utf-8", errors="replace")
    err = raw.get("error") if isinstance(raw, dict) else None
    if isinstance(err, str):
        err = {"message": err}
    if not isinstance(err, dict):
        err = {}
    message = str(err.get("message") or f"Upstream {provider} answered HTTP {status}.")
    code = err.get("code") if isinstance(err.get("code"), str) else None
    param = err.get("param") if isinstance(err.get("param"), str) else None
    return classify(
        status=status, message=message, code=code, param=param, headers=headers, provider=provider, raw=raw
    )
