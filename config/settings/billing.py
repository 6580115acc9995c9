"""Billing: reservations, the credit book's leases, idempotency, rate limits, Stripe, the BYOK fee."""

from config.settings.environment import env, env_float, env_int

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


# Requests on a workspace's own provider keys pay no upstream cost; billing may
# charge this percentage of the would-be cost as a platform fee.
BYOK_PLATFORM_FEE_PERCENT = env_float("BYOK_PLATFORM_FEE_PERCENT", 0.0)
