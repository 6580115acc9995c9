"""Anthropic Messages API (``POST {base}/v1/messages``) as an upstream.

Mappings worth knowing (also in docs/compatibility):

* ``reasoning_effort`` -> ``thinking: {type: enabled, budget_tokens}`` with
  minimal/low 1024, medium 4096, high 16384 tokens; ``none`` sends no thinking.
  ``max_tokens`` is raised above the budget when the caller did not set it,
  and the budget is clipped below an explicit ``max_tokens`` (never under
  Anthropic's minimum of 1024: then the request is refused).
* ``max_tokens`` is required by Anthropic: when the caller gives none, the
  model family's maximum output (``DEFAULT_MAX_TOKENS``) is sent.
* ``json_schema`` output -> native ``output_config.format``; ``json_object``
  -> a forced call of the tool ``junction_json_output`` whose ``tool_use``
  input is turned back into text by ``parse_response`` / ``StreamDecoder``.
* usage: input = ``input_tokens + cache_read_input_tokens +
  cache_creation_input_tokens``; cached = ``cache_read_input_tokens``;
  cache writes = ``cache_creation_input_tokens`` (the 1-hour part from
  ``cache_creation.ephemeral_1h_input_tokens``), each billed at its price.
"""

from __future__ import annotations

from gateway.canonical import Dialect
from gateway.providers.anthropic.passthrough import MESSAGES, passthrough_rewriter
from gateway.providers.anthropic.request import build_request, passthrough_request
from gateway.providers.anthropic.response import (
    StreamDecoder,
    finish_reason,
    map_error,
    merge_usage,
    parse_response,
    stream_error,
    usage_from,
)
from gateway.providers.anthropic.wire import (
    API_VERSION,
    DEFAULT_MAX_TOKENS,
    JSON_TOOL,
    PROVIDER,
    THINKING_BUDGETS,
    api_headers,
    default_max_tokens,
)
from gateway.providers.base import PassThrough

KIND = "anthropic"


def passthrough(dialect: Dialect) -> PassThrough | None:
    """Messages callers are served as they came (same wire)."""
    return MESSAGES if dialect is Dialect.MESSAGES else None


__all__ = [
    "API_VERSION",
    "DEFAULT_MAX_TOKENS",
    "JSON_TOOL",
    "KIND",
    "PROVIDER",
    "THINKING_BUDGETS",
    "StreamDecoder",
    "api_headers",
    "build_request",
    "default_max_tokens",
    "finish_reason",
    "map_error",
    "merge_usage",
    "parse_response",
    "passthrough",
    "passthrough_request",
    "passthrough_rewriter",
    "stream_error",
    "usage_from",
]
