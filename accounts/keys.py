"""API key secrets: generation and hashing. Pure functions, no Django."""

from __future__ import annotations

import hashlib
import secrets
import string

KEY_PREFIX = "jk_"
_ALPHABET = string.ascii_lowercase + string.digits


def generate_secret() -> tuple[str, str]:
    """Return ``(prefix, secret)``. The prefix is the visible, unique part of the secret."""
    prefix = KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    # The secret carries 256 random bits, so a fast unsalted digest is safe and
    # lets the hash itself be the lookup key (as GitHub and Stripe tokens do).
    return hashlib.sha256(secret.encode()).hexdigest()
