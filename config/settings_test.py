"""Test settings: the real settings, with what tests must override."""

import os
import tempfile
from pathlib import Path

from config.settings import *  # noqa: F403
from config.settings import DATABASES, STORAGES

# Tests must never reach a real provider: drop any credentials from the shell.
PROVIDER_CREDENTIALS = {slug: {"api_key": "", "base_url": ""} for slug in PROVIDER_SLUGS}  # noqa: F405
DEMO_PROVIDER = False  # tests that want the demo upstream turn it on

# Nor through a proxy of the shell's (tests that want one set these).
UPSTREAM_HTTPS_PROXY = UPSTREAM_HTTP_PROXY = UPSTREAM_NO_PROXY = ""

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
API_KEY_LOCAL_TTL = 0.5
CATALOG_TTL = 0.0
REQUEST_LOG_FLUSH_INTERVAL = 0.05
EMBEDDED_BEAT = False  # a test that wants the schedule run turns it on

# No pool in tests: the test database must be droppable at the end of the run.
DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
DATABASES["default"]["CONN_MAX_AGE"] = 0

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: live-server threads and helper processes share it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"junction-test-{os.getpid()}.sqlite3")
    }

# Blobs and upload spools of this test process only.
FILES_ROOT = Path(tempfile.mkdtemp(prefix="junction-test-files-"))
FILES_TMP_DIR = FILES_ROOT / "tmp"
if not S3_BUCKET:  # noqa: F405
    STORAGES["files"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(FILES_ROOT / "blobs")},
    }

ROUTING_RETRY_BACKOFF = 0.0
ROUTING_CACHE_TTL = 0.5
# Health statistics in Redis: one namespace per test process, never shared.
ROUTING_HEALTH_REDIS_PREFIX = f"test-{os.getpid()}:junction:health"

if REDIS_URL:  # noqa: F405
    # Tests share a Redis server with other runs: keep to a prefix of their own
    # (inherited by server processes a test starts) and clear only that.
    os.environ.setdefault("JUNCTION_TEST_CACHE_PREFIX", f"junction-test-{os.getpid()}")
    CACHES["default"]["KEY_PREFIX"] = os.environ["JUNCTION_TEST_CACHE_PREFIX"]  # noqa: F405
    CACHE_KEY_PREFIX = os.environ["JUNCTION_TEST_CACHE_PREFIX"]

# Static files straight from the apps' folders: no collectstatic before tests.
STATIC_FROM_FINDERS = True
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Sign-up and login limits stay on, loose enough for a test run's many sign-ups.
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS, "signup": "200/m/ip", "login": "200/m/ip"}  # noqa: F405
