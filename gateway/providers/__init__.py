"""Upstream providers, one package each, all following ``base.Provider``.

Adding a provider: a package ``gateway/providers/<name>/`` offering the
members of ``base.Provider``, and one line in ``PROVIDERS`` below under the
catalog ``kind`` it serves.
"""

from __future__ import annotations

from gateway.providers import anthropic, gemini, openai, openai_compatible
from gateway.providers.base import Provider

PROVIDERS: dict[str, Provider] = {
    openai.KIND: openai,
    openai_compatible.KIND: openai_compatible,
    anthropic.KIND: anthropic,
    gemini.KIND: gemini,
}


def provider_adapter(kind: str) -> Provider | None:
    """The provider for a catalog provider kind, or None if there is none."""
    return PROVIDERS.get(kind)
