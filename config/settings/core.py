"""Django itself: apps, middleware, templates, the database, static files, the management API,
logging."""

from pathlib import Path
from typing import Any

import dj_database_url

from config.settings.environment import BASE_DIR, env, env_bool, env_float, env_int

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
