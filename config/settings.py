"""Settings, read from the environment.

Every default makes ``make run`` work on a laptop with nothing installed:
SQLite, in-process cache and channel layer, eager Celery, local file storage.
Set ``DATABASE_URL``, ``REDIS_URL``, ``CELERY_BROKER_URL`` and ``S3_BUCKET``
for the production shape.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url

from config.production import refuse_insecure

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env("DJANGO_SECRET_KEY", "dev-insecure-secret-key-change-me")
ALLOWED_HOSTS = [
    h for h in env("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in env("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "billing",
    "routing_rules",
    "firewall",
    "files",
    "gateway",
    "console",
    "chat",
]

# Console and admin only. The /v1 surface is served by a handler with no
# middleware at all (see config/asgi.py): every Django middleware that is not
# natively async costs a thread hop per request.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (console, admin) straight from the app: no CDN, no separate server.
    "console.static_files.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context.console",
            ],
        },
    },
]

DATA_DIR = Path(env("JUNCTION_DATA_DIR", str(BASE_DIR / "var")))
# PostgreSQL connections per process (0: no pool, one connection per thread, closed per request).
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 16)
DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 10.0)

if env("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(env("DATABASE_URL"), conn_max_age=0, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_MAX_SIZE:
        # Under ASGI each sync request (the management API, the console) runs on a new
        # thread: persistent per-thread connections piled up until PostgreSQL refused more
        # (docs/architecture.md). A pool per process bounds them at DATABASE_POOL_MAX_SIZE;
        # a request that finds it empty waits up to DATABASE_POOL_TIMEOUT seconds. Each
        # connection is checked when taken out, so a PostgreSQL restart costs no request.
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "pool": {
                "min_size": min(2, DATABASE_POOL_MAX_SIZE),
                "max_size": DATABASE_POOL_MAX_SIZE,
                "timeout": DATABASE_POOL_TIMEOUT,
                "max_idle": 60.0,
            },
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "junction.sqlite3"),
            # WAL: readers never block the writer, and a commit needs no fsync
            # (synchronous=NORMAL; durable at checkpoints). Laptop-grade.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
# Redis is optional at runtime (gateway/redis_clients.py): seconds a command
# or a connect may take before the caller takes its fallback, and how often a
# process checks whether a Redis it found down answers again.
REDIS_TIMEOUT = env_float("REDIS_TIMEOUT", 0.5)
REDIS_CONNECT_TIMEOUT = env_float("REDIS_CONNECT_TIMEOUT", 0.5)
REDIS_RETRY_SECONDS = env_float("REDIS_RETRY_SECONDS", 2.0)
CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX", "junction")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_CONNECT_TIMEOUT},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Bounded waits (the log writer publishes to the live feed): the
            # short connect timeout, and reads cut after 10 s, which must stay
            # above the layer's own 5 s blocking receive.
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 10,
                        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                    }
                ]
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "junction"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: eager in-process unless a broker is configured.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL or "cache+memory://")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Billing (billing/tasks.py). Each task is idempotent: running it twice does it once.
    "billing-grant-plan-credits": {"task": "billing.grant_plan_credits", "schedule": 3600.0},
    "billing-expire-leases": {"task": "billing.expire_leases", "schedule": 60.0},
    "billing-rollup-usage": {"task": "billing.rollup_recent_usage", "schedule": 600.0},
    "billing-purge-idempotency": {"task": "billing.purge_idempotency_records", "schedule": 3600.0},
    # Images (files/tasks.py): image jobs older than IMAGES_JOB_TTL.
    "images-purge-jobs": {"task": "files.purge_image_jobs", "schedule": 3600.0},
    # Files (files/tasks.py): expired files and their blobs.
    "files-purge-expired": {"task": "files.purge_expired", "schedule": 600.0},
}
# With no broker nothing runs that schedule: the ASGI process runs it itself, the
# embedded beat (config/embedded_beat.py), each task at most this many seconds apart,
# the first round this long after startup. Off with a broker (Celery beat runs it).
EMBEDDED_BEAT = env_bool("JUNCTION_EMBEDDED_BEAT", CELERY_TASK_ALWAYS_EAGER)
EMBEDDED_BEAT_MAX_SECONDS = env_float("JUNCTION_EMBEDDED_BEAT_MAX_SECONDS", 30.0)
EMBEDDED_BEAT_FIRST_DELAY = env_float("JUNCTION_EMBEDDED_BEAT_FIRST_DELAY", 5.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves what `collectstatic` gathered into STATIC_ROOT (make run and
# the Dockerfile run it), compressed and under content-hashed names cached
# forever. STATIC_FROM_FINDERS=1 serves straight from the apps' folders instead
# (no collectstatic; what tests do).
STATIC_FROM_FINDERS = env_bool("STATIC_FROM_FINDERS", False)
WHITENOISE_USE_FINDERS = STATIC_FROM_FINDERS
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if STATIC_FROM_FINDERS
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"
MEDIA_ROOT = DATA_DIR / "media"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.AdminApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Junction management API",
    "VERSION": "1",
    "DESCRIPTION": "Workspace management: keys, routing rules, firewall, request logs, usage, billing.",
    "PREPROCESSING_HOOKS": ["config.api_docs.drop_unslashed_twins"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "KeyScopeEnum": "accounts.models.KeyScope",
        "FirewallScopeEnum": "firewall.api._SCOPES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
    "loggers": {"junction": {"level": env("LOG_LEVEL", "INFO"), "propagate": True}},
}

# ----------------------------------------------------------------- Junction

# Largest request body accepted on /v1 (bytes); larger -> 413.
JUNCTION_MAX_BODY_BYTES = env_int("JUNCTION_MAX_BODY_BYTES", 50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = JUNCTION_MAX_BODY_BYTES
# Seconds a /v1 client may pause while sending its request body; longer -> 408
# and the connection is closed (a half-sent body is not held open forever).
JUNCTION_BODY_TIMEOUT = env_float("JUNCTION_BODY_TIMEOUT", 30.0)
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Upstream HTTP client.
UPSTREAM_CONNECT_TIMEOUT = env_float("UPSTREAM_CONNECT_TIMEOUT", 10.0)
UPSTREAM_READ_TIMEOUT = env_float("UPSTREAM_READ_TIMEOUT", 600.0)
UPSTREAM_MAX_CONNECTIONS = env_int("UPSTREAM_MAX_CONNECTIONS", 512)
# A PEM file of certificate authorities to trust for upstream TLS besides the
# system's and certifi's (a self-hosted vLLM or Ollama behind a private CA).
UPSTREAM_CA_BUNDLE = env("UPSTREAM_CA_BUNDLE", "")
# Egress proxies (gateway/proxies.py): default to the environment's
# https_proxy / http_proxy / no_proxy (either case; all_proxy as a last
# resort), read the way curl and httpx read them.


def proxy_from_environment(scheme: str) -> str:
    names = [f"{scheme}_proxy", f"{scheme.upper()}_PROXY"] + (
        ["all_proxy", "ALL_PROXY"] if scheme != "no" else []
    )
    return next((os.environ[name] for name in names if os.environ.get(name)), "")


UPSTREAM_HTTPS_PROXY = env("UPSTREAM_HTTPS_PROXY", proxy_from_environment("https"))
UPSTREAM_HTTP_PROXY = env("UPSTREAM_HTTP_PROXY", proxy_from_environment("http"))
UPSTREAM_NO_PROXY = env("UPSTREAM_NO_PROXY", proxy_from_environment("no"))
# The largest non-streamed upstream answer read (bytes); a larger one is a 502
# naming this limit.
UPSTREAM_MAX_RESPONSE_BYTES = env_int("UPSTREAM_MAX_RESPONSE_BYTES", 100 * 1024 * 1024)

# How long a process trusts its own copy of an API key (seconds). Revocation
# reaches every process within this bound.
API_KEY_LOCAL_TTL = env_float("API_KEY_LOCAL_TTL", 3.0)
# A key's last_used_at is written from the request logs at most this often per key
# and process (accounts/key_use.py): never a database write per call.
API_KEY_LAST_USED_SECONDS = env_float("API_KEY_LAST_USED_SECONDS", 60.0)
# How long the shared cache (Redis) keeps a key record (seconds); revocation
# deletes it at once.
API_KEY_SHARED_TTL = env_int("API_KEY_SHARED_TTL", 300)
# How long a process trusts its copy of the model catalog (seconds).
CATALOG_TTL = env_float("CATALOG_TTL", 10.0)
# How long a process trusts its compiled firewall policies before checking the
# workspace's version in the shared cache (seconds); changes also bump it.
FIREWALL_TTL = env_float("FIREWALL_TTL", 5.0)
# Characters of request/answer text the firewall scans per call (not per
# stream: streams are scanned in bounded windows); the rest passes unscanned
# and the call is flagged ``firewall_scan_truncated``.
FIREWALL_MAX_SCAN_CHARS = env_int("FIREWALL_MAX_SCAN_CHARS", 2_000_000)
# A request body larger than this (bytes) is scanned on a worker thread, so a
# big prompt does not hold the event loop that other calls share.
FIREWALL_THREAD_SCAN_BYTES = env_int("FIREWALL_THREAD_SCAN_BYTES", 32_768)

# Request log writer: rows are buffered and written in batches off the hot path.
REQUEST_LOG_BATCH_SIZE = env_int("REQUEST_LOG_BATCH_SIZE", 200)
REQUEST_LOG_FLUSH_INTERVAL = env_float("REQUEST_LOG_FLUSH_INTERVAL", 0.5)

CATALOG_FILE = Path(
    env("JUNCTION_CATALOG_FILE", str(BASE_DIR / "gateway" / "catalog" / "default_catalog.json"))
)

# Platform credentials per provider slug: <SLUG>_API_KEY and <SLUG>_BASE_URL.
# A provider is configured when its key is set (or its catalog entry needs none).
PROVIDER_SLUGS = ["openai", "anthropic", "gemini", "deepseek", "mistral", "openrouter"]
PROVIDER_CREDENTIALS = {
    slug: {"api_key": env(f"{slug.upper()}_API_KEY"), "base_url": env(f"{slug.upper()}_BASE_URL")}
    for slug in PROVIDER_SLUGS
}
# The built-in demo upstream (gateway/demo.py): the echo model `junction-demo`,
# priced at zero, so the quickstart answers with no provider key. On by default
# only when no provider key is set; never in production (JUNCTION_PRODUCTION,
# DATABASE_URL or DJANGO_SECURE set), whatever JUNCTION_DEMO_PROVIDER says. DEMO_BASE_URL is
# where this server answers (`make run` sets it from PORT).
DEMO_PROVIDER = env_bool(
    "JUNCTION_DEMO_PROVIDER", not any(c["api_key"] for c in PROVIDER_CREDENTIALS.values())
) and not (env("DATABASE_URL") or env_bool("DJANGO_SECURE") or env_bool("JUNCTION_PRODUCTION"))
PROVIDER_CREDENTIALS["demo"] = {
    "api_key": "junction-demo" if DEMO_PROVIDER else "",
    "base_url": env("DEMO_BASE_URL", "http://127.0.0.1:8000/demo-upstream/v1"),
}

# ------------------------------------------------------------------ billing
# Money is integer units of 1/10,000 USD; a credit is 100 units ($0.01). See billing/money.py.

# Output tokens reserved for a call that gives no max_tokens (capped by the model's own maximum).
BILLING_DEFAULT_MAX_OUTPUT_TOKENS = env_int("BILLING_DEFAULT_MAX_OUTPUT_TOKENS", 4096)
# The credit book (billing/book/): each process leases credit and holds calls against it
# in memory. A lease takes the call's worst case plus headroom for this many more such calls,
# never more than 1/BILLING_LEASE_SHARE of what is free; an idle pool hands it back after
# BILLING_LEASE_IDLE_SECONDS. Charges are written every BILLING_FLUSH_SECONDS (one transaction).
BILLING_LEASE_CALLS = env_int("BILLING_LEASE_CALLS", 32)
BILLING_LEASE_SHARE = env_int("BILLING_LEASE_SHARE", 4)
# ... and at least this many seconds of the pool's recent spending; the writer thread tops
# a busy lease up when its spare part falls below half of that, so calls rarely wait.
BILLING_LEASE_SECONDS = env_float("BILLING_LEASE_SECONDS", 2.0)
BILLING_LEASE_IDLE_SECONDS = env_float("BILLING_LEASE_IDLE_SECONDS", 2.0)
BILLING_FLUSH_SECONDS = env_float("BILLING_FLUSH_SECONDS", 0.25)
# A process renews its leases this often (its heartbeat); a lease not renewed for
# BILLING_LEASE_EXPIRY_SECONDS belonged to a dead process: every process hands such leases back
# (every BILLING_LEASE_RECLAIM_SECONDS, and before refusing a call for want of credit), as does
# the billing.expire_leases task when beat runs. Renew + expiry + reclaim stays under a minute.
BILLING_LEASE_RENEW_SECONDS = env_int("BILLING_LEASE_RENEW_SECONDS", 10)
BILLING_LEASE_EXPIRY_SECONDS = env_int("BILLING_LEASE_EXPIRY_SECONDS", 40)
BILLING_LEASE_RECLAIM_SECONDS = env_int("BILLING_LEASE_RECLAIM_SECONDS", 10)
# How long an Idempotency-Key's answer is kept.
IDEMPOTENCY_TTL_HOURS = env_int("IDEMPOTENCY_TTL_HOURS", 24)

# Rate limits live in REDIS_URL's Redis when it is configured (shared by every
# web process); while it is down or slow, in each process's own counters.
RATELIMIT_KEY_PREFIX = env("RATELIMIT_KEY_PREFIX", "junction:rl")

# Stripe: Checkout for credit packs and plan subscriptions; the webhook verifies signatures.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
# Where Stripe sends the payer back for Checkout links made by the management API
# (the console sends people back to its own billing page).
STRIPE_SUCCESS_URL = env("STRIPE_SUCCESS_URL", "http://localhost:8000/console/billing/?checkout=success")
STRIPE_CANCEL_URL = env("STRIPE_CANCEL_URL", "http://localhost:8000/console/billing/?checkout=canceled")
# Credit packs for sale: slug -> price in US cents. A pack credits exactly what was paid.
CREDIT_PACKS = {"10": 1_000, "25": 2_500, "100": 10_000}

# Routing (routing_rules): how long a process trusts its compiled rules and
# decrypted provider keys (seconds; changes made in this process apply at once).
ROUTING_CACHE_TTL = env_float("ROUTING_CACHE_TTL", 5.0)
# Pause before a fallback attempt: base * 2^(attempt-1) seconds, capped at 1s.
ROUTING_RETRY_BACKOFF = env_float("ROUTING_RETRY_BACKOFF", 0.05)
# Circuit breaker per deployment: open after FAILURES failures among the last
# WINDOW calls that are also at least FAILURE_RATIO of them, for COOLDOWN seconds;
# then one probe call decides (half-open).
ROUTING_BREAKER_FAILURES = env_int("ROUTING_BREAKER_FAILURES", 5)
ROUTING_BREAKER_WINDOW = env_int("ROUTING_BREAKER_WINDOW", 20)
ROUTING_BREAKER_FAILURE_RATIO = env_float("ROUTING_BREAKER_FAILURE_RATIO", 0.5)
ROUTING_BREAKER_COOLDOWN = env_float("ROUTING_BREAKER_COOLDOWN", 30.0)
# Live statistics: moving-average weight of a new sample, and how often a
# process exchanges its statistics and breaker state with Redis (seconds).
ROUTING_HEALTH_ALPHA = env_float("ROUTING_HEALTH_ALPHA", 0.2)
ROUTING_HEALTH_SYNC_INTERVAL = env_float("ROUTING_HEALTH_SYNC_INTERVAL", 1.0)
ROUTING_HEALTH_REDIS_PREFIX = env("ROUTING_HEALTH_REDIS_PREFIX", "junction:health")
# Fernet keys for provider keys at rest, comma-separated, first = current.
PROVIDER_KEY_ENCRYPTION_KEYS = env("PROVIDER_KEY_ENCRYPTION_KEYS", "")
# Production refuses to start on the laptop defaults (a public SECRET_KEY, provider keys
# encrypted under a key derived from it): config/production.py.
JUNCTION_PRODUCTION = env_bool("JUNCTION_PRODUCTION", False)
if JUNCTION_PRODUCTION:
    refuse_insecure(secret_key=SECRET_KEY, encryption_keys=PROVIDER_KEY_ENCRYPTION_KEYS)
# Requests on a workspace's own provider keys pay no upstream cost; billing may
# charge this percentage of the would-be cost as a platform fee.
BYOK_PLATFORM_FEE_PERCENT = env_float("BYOK_PLATFORM_FEE_PERCENT", 0.0)

# ------------------------------------------------------------------- files
# Uploaded files (files/): blobs on the local disk under FILES_ROOT, or in an
# S3-compatible bucket when S3_BUCKET is set (AWS S3, MinIO, R2). S3
# credentials come from the environment (AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY, or boto3's usual chain: a profile, an instance role).
FILES_ROOT = Path(env("FILES_ROOT", str(DATA_DIR / "files")))
# Uploads are streamed here before they move to storage (same disk as
# FILES_ROOT, so the local backend moves them with a rename).
FILES_TMP_DIR = Path(env("FILES_TMP_DIR", str(DATA_DIR / "tmp")))
# Largest file accepted by POST /v1/files (bytes); larger -> 413. Bodies are
# also capped by JUNCTION_MAX_BODY_BYTES.
FILES_MAX_BYTES = env_int("FILES_MAX_BYTES", 25 * 1024 * 1024)
# Most file content (inline + by id + by URL) one model request may carry.
FILES_REQUEST_MAX_BYTES = env_int("FILES_REQUEST_MAX_BYTES", 50 * 1024 * 1024)
# Files with purpose=batch expire after this long unless expires_after says otherwise.
FILES_BATCH_EXPIRES_SECONDS = env_int("FILES_BATCH_EXPIRES_SECONDS", 30 * 24 * 3600)
# Signed blob URLs: lifetime (s), the HMAC key (default SECRET_KEY), and the
# public origin used to build them outside a request (empty: the request's).
FILES_URL_TTL = env_int("FILES_URL_TTL", 3600)
FILES_SIGNING_KEY = env("FILES_SIGNING_KEY", SECRET_KEY)
# Files sent to upstreams by reference (files/upstream.py, docs/files.md):
# OpenAI gets documents of at least FILES_UPSTREAM_MIN_BYTES uploaded once to
# its files API (kept there FILES_UPSTREAM_TTL seconds) and named by id;
# Gemini gets its Files API when a request's inline content passes
# FILES_GEMINI_INLINE_MAX_BYTES (it refuses requests over 20 MB).
FILES_UPSTREAM_MIN_BYTES = env_int("FILES_UPSTREAM_MIN_BYTES", 512 * 1024)
FILES_UPSTREAM_TTL = env_int("FILES_UPSTREAM_TTL", 7 * 24 * 3600)
FILES_GEMINI_INLINE_MAX_BYTES = env_int("FILES_GEMINI_INLINE_MAX_BYTES", 19 * 1024 * 1024)
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "")
# The images API (docs/images.md): how long a call waits for its job before a
# 504 naming the job (s), and how long a job's result stays readable (s).
IMAGES_JOB_TIMEOUT = env_float("IMAGES_JOB_TIMEOUT", 300.0)
IMAGES_JOB_TTL = env_int("IMAGES_JOB_TTL", 24 * 3600)
# Run image jobs on a worker thread of the web process instead of a Celery
# worker: the embedded default (eager Celery); tests without a worker set it.
IMAGES_JOBS_IN_PROCESS = env_bool("IMAGES_JOBS_IN_PROCESS", CELERY_TASK_ALWAYS_EAGER)

S3_BUCKET = env("S3_BUCKET")
if S3_BUCKET:
    from boto3.s3.transfer import TransferConfig  # only when S3 is configured: boto3 is slow to import

    FILES_STORAGE: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "region_name": env("S3_REGION") or None,
            "location": env("S3_PREFIX", ""),
            "addressing_style": env("S3_ADDRESSING_STYLE") or None,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            # Upload parts one at a time: 10 concurrent uploads must not hold
            # 10 x 10 parts of 8 MB in memory.
            "transfer_config": TransferConfig(use_threads=False),
        },
    }
else:
    FILES_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": FILES_ROOT},
    }

STORAGES["files"] = FILES_STORAGE

# ----------------------------------------------------------------- console
# Accounts (django-allauth): email + password, email confirmation, TOTP 2FA.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# "mandatory": no console until the address is confirmed (the link is printed by
# the console email backend unless EMAIL_HOST is set).
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_SESSION_REMEMBER = None
# Per IP and per account (the cache holds the counters: Redis when REDIS_URL is set).
ACCOUNT_RATE_LIMITS = {
    "login": env("RATE_LIMIT_LOGIN", "30/m/ip"),
    "login_failed": env("RATE_LIMIT_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "signup": env("RATE_LIMIT_SIGNUP", "10/m/ip"),
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", "Junction")

# Email: printed to the console unless an SMTP server is configured.
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Junction <no-reply@localhost>")

# HTTPS-only cookies and redirects: set DJANGO_SECURE=1 behind TLS (production).
# Off by default so `make run` works over plain http://127.0.0.1.
DJANGO_SECURE = env_bool("DJANGO_SECURE", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = DJANGO_SECURE
CSRF_COOKIE_SECURE = DJANGO_SECURE
SECURE_SSL_REDIRECT = DJANGO_SECURE and env_bool("DJANGO_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if DJANGO_SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = DJANGO_SECURE
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", DJANGO_SECURE)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load-balancer probes speak plain HTTP
# The load balancer terminates TLS and says so in X-Forwarded-Proto.
if env_bool("DJANGO_BEHIND_PROXY", DJANGO_SECURE):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The chat app (/chat/): attachments are kept in blob storage like /v1 files.
CHAT_ATTACHMENT_MAX_BYTES = env_int("CHAT_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)
CHAT_THEME_COLOR = "#4338ca"
