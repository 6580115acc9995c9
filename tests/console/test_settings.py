"""Production settings: `check --deploy` passes with the documented environment;
cookies are secure and HttpOnly there; mail goes over SMTP when EMAIL_HOST is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_SECURE": "1",
    "DJANGO_SECRET_KEY": "x7Gq-2vNw9LrP4tKzQ8mYb3Hc6Jf1Ds5Ae0Uo_RiTlWnXpVgZkMj",
    "DJANGO_ALLOWED_HOSTS": "junction.example.com",
    "EMAIL_HOST": "smtp.example.com",
}


def run_python(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EMAIL_"))}
    env.update(PRODUCTION_ENV, JUNCTION_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_env(tmp_path):
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", data_dir=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_cookies_and_mail(tmp_path):
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT, s.EMAIL_BACKEND)"
    )
    result = run_python("-c", probe, data_dir=tmp_path)
    assert result.stdout.split() == [
        "True",
        "True",
        "True",
        "True",
        "django.core.mail.backends.smtp.EmailBackend",
    ], result.stderr
