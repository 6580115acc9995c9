"""How a canonical field was spelled by the client, so a refusal names the
parameter the caller actually sent (``response_format`` in Chat,
``text.format`` in Responses, ``output_config.format`` in Messages)."""

from __future__ import annotations

from gateway.canonical import CanonicalRequest, Dialect

_NAMES: dict[str, dict[Dialect, str]] = {
    "output_format": {
        Dialect.CHAT: "response_format",
        Dialect.RESPONSES: "text.format",
        Dialect.MESSAGES: "output_config.format",
    },
    "max_output_tokens": {
        Dialect.CHAT: "max_completion_tokens",
        Dialect.RESPONSES: "max_output_tokens",
        Dialect.MESSAGES: "max_tokens",
    },
    "reasoning_effort": {
        Dialect.RESPONSES: "reasoning.effort",
        Dialect.MESSAGES: "thinking",
    },
    "stop": {Dialect.MESSAGES: "stop_sequences"},
    "parallel_tool_calls": {Dialect.MESSAGES: "tool_choice.disable_parallel_tool_use"},
    # Responses asks for log probabilities with ``include: ["message.output_text.logprobs"]``.
    "logprobs": {Dialect.RESPONSES: "include"},
    "reasoning_summary": {Dialect.RESPONSES: "reasoning.summary"},
    "metadata": {},
    "user": {Dialect.MESSAGES: "metadata.user_id"},
}


def param_name(req: CanonicalRequest, field: str) -> str:
    """The inbound dialect's name for a canonical field (the field name itself by default)."""
    return _NAMES.get(field, {}).get(req.dialect, field)
