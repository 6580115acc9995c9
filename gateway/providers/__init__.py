"""Upstream providers, one package each, all following ``base.Provider``.

Adding a provider: a package ``gateway/providers/<name>/`` offering the
members of ``base.Provider``, and one line in ``PROVIDERS`` below under the
catalog ``kind`` it serves.
"""

from __future__ import annotations

from gateway.providers import anthropic, gemini, openai, openai_compatible
from gateway.providers.base import ImageCodec, Provider
from gateway.providers.gemini import images as gemini_images
from gateway.providers.openai import images as openai_images

PROVIDERS: dict[str, Provider] = {
    openai.KIND: openai,
    openai_compatible.KIND: openai_compatible,
    anthropic.KIND: anthropic,
    gemini.KIND: gemini,
}


def provider_adapter(kind: str) -> Provider | None:
    """The provider for a catalog provider kind, or None if there is none."""
    return PROVIDERS.get(kind)


# The images API (``/v1/images/*``) per provider kind; OpenAI-compatible
# servers speak OpenAI's images wire.
IMAGE_CODECS: dict[str, ImageCodec] = {
    openai.KIND: openai_images.CODEC,
    openai_compatible.KIND: openai_images.CODEC,
    gemini.KIND: gemini_images.CODEC,
}


def image_codec(kind: str) -> ImageCodec | None:
    return IMAGE_CODECS.get(kind)
