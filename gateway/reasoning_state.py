"""Opaque reasoning state that must find its way back to the provider that
made it (Anthropic thinking ``signature``, Gemini ``thoughtSignature``,
OpenAI ``encrypted_content``), through a dialect that has only one opaque
field for it.

A dialect whose opaque field would otherwise lose the provider (a Messages
thinking block's ``signature``, a Responses reasoning item's
``encrypted_content``) writes ``pack(provider, state)``; decoders and
adapters read it back with ``unpack``. A provider's own state in its own
dialect is written as is.
"""

from __future__ import annotations

PREFIX = "junction:"


# Redacted reasoning (Anthropic's ``redacted_thinking``) is packed under
# ``<provider>+redacted``: it goes back as redacted, not as a signed thinking block.
REDACTED = "+redacted"


def pack(provider: str, state: str, *, redacted: bool = False) -> str:
    return f"{PREFIX}{provider}{REDACTED if redacted else ''}:{state}"


def redacted_state_for(provider: str, value: str | None) -> str | None:
    """The redacted reasoning data ``value`` packs for ``provider``, if it does."""
    unpacked = unpack(value)
    if unpacked is not None and unpacked[0] == provider + REDACTED:
        return unpacked[1]
    return None


def unpack(value: str | None) -> tuple[str, str] | None:
    """``(provider, state)`` for a packed value, else None."""
    if not value or not value.startswith(PREFIX):
        return None
    provider, sep, state = value.removeprefix(PREFIX).partition(":")
    if not sep or not provider:
        return None
    return provider, state


def state_for(
    provider: str, *, signature: str | None, encrypted_content: str | None, owner: str | None
) -> str | None:
    """The opaque state a reasoning item holds for ``provider``: its own field
    when ``owner`` is that provider, or a packed value naming it."""
    for value in (signature, encrypted_content):
        unpacked = unpack(value)
        if unpacked is not None:
            if unpacked[0] == provider:
                return unpacked[1]
        elif value and owner == provider:
            return value
    return None
