"""What production settings refuse to start without (``JUNCTION_PRODUCTION=1``).

A laptop (``make run``) and the tests run on public defaults: a
``SECRET_KEY`` anyone can read in this repository, and provider keys at rest
encrypted under a key derived from it. Production must not."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

PUBLIC_SECRET_KEYS = {"dev-insecure-secret-key-change-me", "change-me", "changeme", "secret"}
MIN_SECRET_KEY_LENGTH = 32


def refuse_insecure(*, secret_key: str, encryption_keys: str) -> None:
    """Raise ``ImproperlyConfigured`` naming the setting at fault."""
    if secret_key in PUBLIC_SECRET_KEYS or len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is a public default or shorter than {MIN_SECRET_KEY_LENGTH} characters: "
            "set a random one (JUNCTION_PRODUCTION is on)."
        )
    keys = [k.strip() for k in encryption_keys.split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "PROVIDER_KEY_ENCRYPTION_KEYS is not set: workspaces' provider keys would be encrypted under a "
            "key derived from DJANGO_SECRET_KEY (JUNCTION_PRODUCTION is on)."
        )
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                "PROVIDER_KEY_ENCRYPTION_KEYS: each key must be a Fernet key "
                '(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").'
            ) from None
