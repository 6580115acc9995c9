"""Upstream provider adapters, one module per wire format (see ``base``)."""

from __future__ import annotations

from types import ModuleType

from gateway.providers import anthropic, gemini, openai_compatible, openai_responses


def provider_adapter(kind: str) -> ModuleType | None:
    """The adapter module for a catalog provider kind, or None if there is none."""
    return _ADAPTERS.get(kind)


_ADAPTERS: dict[str, ModuleType] = {
    # Translation path for OpenAI itself speaks the Responses API; same-wire
    # calls never reach an adapter (see gateway.pipeline.plan_attempt).
    "openai": openai_responses,
    "openai_compatible": openai_compatible,
    "anthropic": anthropic,
    "gemini": gemini,
}
