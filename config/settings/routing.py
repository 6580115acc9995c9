"""Routing: rule caches, fallbacks, breakers, live health."""

from config.settings.environment import env, env_float, env_int

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
