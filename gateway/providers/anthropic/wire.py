"""Anthropic wire constants shared by the request and response halves."""

from __future__ import annotations

from gateway.canonical import FinishReason

PROVIDER = "anthropic"
API_VERSION = "2023-06-01"
JSON_TOOL = "junction_json_output"
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
MIN_THINKING_BUDGET = 1024
FALLBACK_MAX_TOKENS = 8192
# Longest output per model family (Anthropic's models overview); the first
# matching prefix wins.
DEFAULT_MAX_TOKENS: tuple[tuple[str, int], ...] = (
    ("claude-opus-4-5", 64000),
    ("claude-opus-4", 32000),
    ("claude-sonnet-4", 64000),
    ("claude-haiku-4", 64000),
    ("claude-3-7-sonnet", 64000),
    ("claude-3-5-haiku", 8192),
    ("claude-3-5-sonnet", 8192),
    ("claude-3-haiku", 4096),
    ("claude-3-opus", 4096),
)
FINISH_REASONS = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "pause_turn": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "tool_use": FinishReason.TOOL_CALLS,
    "refusal": FinishReason.CONTENT_FILTER,
}


def default_max_tokens(model: str) -> int:
    for prefix, limit in DEFAULT_MAX_TOKENS:
        if model.startswith(prefix):
            return limit
    return FALLBACK_MAX_TOKENS


def api_headers(api_key: str, headers: dict[str, str] | None) -> dict[str, str]:
    out = {"content-type": "application/json", "anthropic-version": API_VERSION}
    if api_key:
        out["x-api-key"] = api_key
    beta = (headers or {}).get("anthropic-beta")
    if beta:
        out["anthropic-beta"] = beta
    return out
