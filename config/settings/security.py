"""Production: provider-key encryption, the refusal to start on laptop defaults, HTTPS-only cookies
and redirects."""

from config.production import refuse_insecure
from config.settings.core import SECRET_KEY
from config.settings.environment import env, env_bool, env_int

# Fernet keys for provider keys at rest, comma-separated, first = current.
PROVIDER_KEY_ENCRYPTION_KEYS = env("PROVIDER_KEY_ENCRYPTION_KEYS", "")
# Production refuses to start on the laptop defaults (a public SECRET_KEY, provider keys
# encrypted under a key derived from it): config/production.py.
JUNCTION_PRODUCTION = env_bool("JUNCTION_PRODUCTION", False)
if JUNCTION_PRODUCTION:
    refuse_insecure(secret_key=SECRET_KEY, encryption_keys=PROVIDER_KEY_ENCRYPTION_KEYS)

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
