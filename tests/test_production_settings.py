"""Production settings refuse to start on the laptop defaults."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.production import refuse_insecure

GOOD_SECRET = "k" * 50


def _start(**env: str) -> subprocess.CompletedProcess:
    """Import the production settings in a fresh interpreter, as a server does."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JUNCTION_", "PROVIDER_KEY"))
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_the_default_secret_key():
    result = _start(JUNCTION_PRODUCTION="1", PROVIDER_KEY_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_encryption_keys():
    result = _start(JUNCTION_PRODUCTION="1", DJANGO_SECRET_KEY=GOOD_SECRET)
    assert result.returncode != 0 and "PROVIDER_KEY_ENCRYPTION_KEYS" in result.stderr


def test_production_starts_with_both_and_a_laptop_without_either():
    key = Fernet.generate_key().decode()
    ok = _start(JUNCTION_PRODUCTION="1", DJANGO_SECRET_KEY=GOOD_SECRET, PROVIDER_KEY_ENCRYPTION_KEYS=key)
    assert ok.returncode == 0, ok.stderr
    assert _start().returncode == 0  # make run


@pytest.mark.parametrize(
    ("secret", "keys"),
    [("change-me", "x"), ("short", "x"), (GOOD_SECRET, " , "), (GOOD_SECRET, "not-fernet")],
)
def test_refuse_insecure_names_the_setting(secret, keys):
    with pytest.raises(ImproperlyConfigured):
        refuse_insecure(secret_key=secret, encryption_keys=keys)
