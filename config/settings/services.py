"""The optional shared services: Redis (cache, channel layer), Celery and the embedded beat, email."""

from config.settings.environment import env, env_bool, env_float, env_int

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
