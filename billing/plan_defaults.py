"""The plans Junction ships with (seeded by migration 0002; ``plans_ensure_defaults``
restores them). Pure data: migrations import it. 1 credit = $0.01 = 100 units."""

from __future__ import annotations

from typing import Any

DEFAULT_PLANS: list[dict[str, Any]] = [
    {
        "slug": "free",
        "name": "Free",
        "monthly_grant_units": 100 * 100,
        "price_cents": 0,
        "rpm_limit": 60,
        "tpm_limit": 100_000,
        "max_concurrency": 10,
        "is_default": True,
    },
    {
        "slug": "starter",
        "name": "Starter",
        "monthly_grant_units": 500 * 100,
        "price_cents": 500,
        "rpm_limit": 300,
        "tpm_limit": 1_000_000,
        "max_concurrency": 25,
        "is_default": False,
    },
    {
        "slug": "pro",
        "name": "Pro",
        "monthly_grant_units": 5_000 * 100,
        "price_cents": 5_000,
        "rpm_limit": 3_000,
        "tpm_limit": 10_000_000,
        "max_concurrency": 200,
        "is_default": False,
    },
]
