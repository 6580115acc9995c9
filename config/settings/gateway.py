"""The /v1 surface: body limits, the upstream client and egress proxies, key and catalog caches,
the firewall's budgets, the request-log writer, provider credentials and the demo upstream."""

import os
from pathlib import Path

from config.settings.environment import BASE_DIR, env, env_bool, env_float, env_int

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
