"""Provider keys at rest: Fernet tokens under ``PROVIDER_KEY_ENCRYPTION_KEYS``.

The setting is a comma-separated list of Fernet keys; the first encrypts,
all decrypt (MultiFernet), so a key is rotated by putting a new one first
and running ``manage.py rotate_provider_keys``. When the setting is empty
(a laptop), a key is derived from ``SECRET_KEY`` so ``make run`` works.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "mask", "reencrypt"]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = base64.urlsafe_b64encode(hashlib.sha256(f"provider-keys:{secret_key}".encode()).digest())
        return MultiFernet([Fernet(derived)])
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    raw = settings.PROVIDER_KEY_ENCRYPTION_KEYS
    keys = tuple(k.strip() for k in (raw.split(",") if isinstance(raw, str) else raw) if k.strip())
    return _fernet(keys, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same secret under the current (first) key."""
    return fernet().rotate(token.encode()).decode()


def mask(secret: str) -> str:
    """What people see of a stored key: its first few and last four characters."""
    if len(secret) <= 12:
        return "…" + secret[-2:]
    return f"{secret[:3]}…{secret[-4:]}"
