"""API keys as the /v1 pipeline sees them: the loader behind ``gateway.auth``'s
key cache, registered in ``AccountsConfig.ready`` (the gateway does not read
accounts or billing itself)."""

from __future__ import annotations

from accounts.selectors import api_key_by_hash
from billing.selectors import KEY_BILLING_RELATED, key_billing
from gateway.auth import Principal


def principal_by_hash(key_hash: str) -> Principal | None:
    """The key with this SHA-256 as the /v1 stages see it: its workspace and its
    billing limits, read in one query (``gateway.auth``'s key cache calls this
    on a miss, on a worker thread)."""
    key = api_key_by_hash(key_hash=key_hash, related=KEY_BILLING_RELATED)
    if key is None:
        return None
    money = key_billing(key=key)
    return Principal(
        key_id=key.pk,
        key_prefix=key.prefix,
        key_hash=key.key_hash,
        workspace_id=key.workspace_id,
        workspace_slug=key.workspace.slug,
        scope=key.scope,
        expires_at=key.expires_at.timestamp() if key.expires_at else None,
        revoked=key.revoked_at is not None,
        workspace_active=key.workspace.is_active,
        workspace_suspended=key.workspace.suspended,
        markup=money.markup,
        rpm_limit=money.rpm_limit,
        tpm_limit=money.tpm_limit,
        max_concurrency=money.max_concurrency,
        spend_limit_units=money.spend_limit_units,
        spend_period=money.spend_period,
    )
