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


def pack(provider: str, state: str) -> str:
    return f"{PREFIX}{provider}:{state}"


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
