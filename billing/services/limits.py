"""Per-key limits (rate limits and spend caps)."""

from __future__ import annotations

from accounts.models import ApiKey
from billing.models import KeyLimits, SpendPeriod
from gateway.auth import forget_key


def key_limits_set(
    *,
    key: ApiKey,
    rpm_limit: int | None = None,
    tpm_limit: int | None = None,
    spend_limit_units: int | None = None,
    spend_period: str = SpendPeriod.MONTH,
) -> KeyLimits:
    limits, _ = KeyLimits.objects.update_or_create(
        api_key=key,
        defaults={
            "rpm_limit": rpm_limit,
            "tpm_limit": tpm_limit,
            "spend_limit_units": spend_limit_units,
            "spend_period": spend_period,
        },
    )
    forget_key(key.key_hash)
    return limits
