"""Upstream provider adapters, one module per wire format (see ``base``)."""

from __future__ import annotations

from types import ModuleType

from gateway.providers import anthropic, gemini


def provider_adapter(kind: str) -> ModuleType | None:
    """The adapter module for a catalog provider kind, or None if there is none."""
    return _ADAPTERS.get(kind)


_ADAPTERS: dict[str, ModuleType] = {"anthropic": anthropic, "gemini": gemini}
