"""Authenticate stage: API key -> Principal, without a database query per request.

Three layers: this process's own table (trusted ``API_KEY_LOCAL_TTL`` seconds),
the shared cache when it really is shared (Redis), and the database. Revoking a
key deletes it from the shared cache, so every process stops accepting it
within ``API_KEY_LOCAL_TTL`` seconds.

Redis down or slow: keys are read from the database (behind the same
per-process table and single flight), and a revocation's delete is retried
until Redis is back (``gateway.redis_clients``).

Reading a key from the database needs the accounts and billing apps, which
depend on the gateway, not the other way round: the loader (key hash ->
``Principal``) is registered by the app that owns keys
(``AccountsConfig.ready``: ``accounts.principals.principal_by_hash``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import msgspec
from asgiref.sync import sync_to_async
from django.conf import settings

from accounts.keys import hash_secret
from accounts.models import KeyScope
from gateway.errors import ErrorType, GatewayError
from gateway.redis_clients import UNAVAILABLE, link
from gateway.redis_clients import enabled as redis_enabled
from gateway.redis_clients import key as redis_key
from gateway.singleflight import SingleFlight

LOCAL_MAX_ENTRIES = 50_000
SUSPENDED_MESSAGE = "This workspace is suspended; its owners can see why in the console."
_MISSING = b"-"  # the shared cache's entry for a hash that is no key


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: int
    key_prefix: str
    key_hash: str
    workspace_id: int
    workspace_slug: str
    scope: str
    expires_at: float | None  # unix time
    revoked: bool
    workspace_active: bool
    workspace_suspended: bool = False
    # Billing and limits (billing.selectors.key_billing): the key's own limits,
    # else its workspace plan's defaults. None means unlimited.
    markup: Decimal = Decimal(1)
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_concurrency: int | None = None
    spend_limit_units: int | None = None
    spend_period: str = "month"


# Reads one key (and its workspace's billing limits) from the database by its
# SHA-256; runs on a worker thread.
PrincipalLoader = Callable[[str], "Principal | None"]


def _shared_key(key_hash: str) -> str:
    return redis_key("apikey", key_hash)


_principal_encoder = msgspec.msgpack.Encoder()
_principal_decoder = msgspec.msgpack.Decoder(Principal)


class KeyCache:
    """The per-process table. Concurrent misses on one key share one lookup:
    when an entry expires under load, the calls in flight wait for the same
    fetch instead of queueing one query each on asgiref's shared thread."""

    def __init__(self) -> None:
        self._local: OrderedDict[str, tuple[Principal | None, float]] = OrderedDict()
        self._fetching: SingleFlight[Principal | None] = SingleFlight()
        self.loader: PrincipalLoader | None = None

    def use_loader(self, loader: PrincipalLoader) -> None:
        self.loader = loader

    def _load(self, key_hash: str) -> Principal | None:
        if self.loader is None:
            raise RuntimeError("no API key loader registered (accounts' AppConfig.ready registers it)")
        return self.loader(key_hash)

    async def get(self, key_hash: str) -> Principal | None:
        hit = self._local.get(key_hash)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return await self._fetching.run(key_hash, partial(self._refresh, key_hash))

    async def _refresh(self, key_hash: str) -> Principal | None:
        now = time.monotonic()
        principal = await self._fetch(key_hash)
        if not self._fetching.is_current(key_hash):
            return principal  # forgotten (revoked) meanwhile: do not re-cache what was read before
        self._local[key_hash] = (principal, now + settings.API_KEY_LOCAL_TTL)
        self._local.move_to_end(key_hash)
        while len(self._local) > LOCAL_MAX_ENTRIES:
            self._local.popitem(last=False)
        return principal

    async def _fetch(self, key_hash: str) -> Principal | None:
        shared = _shared_key(key_hash)
        cached = await link.run("api_keys", lambda r: r.get(shared))
        if cached == _MISSING:
            return None
        if isinstance(cached, bytes):
            try:
                return _principal_decoder.decode(cached)
            except msgspec.DecodeError:
                pass  # written by another version: read it again
        principal = await sync_to_async(self._load)(key_hash)
        if not self._fetching.is_current(key_hash):
            return principal  # forgotten (revoked) meanwhile: don't share what was read before
        if cached is not UNAVAILABLE:
            # Unknown keys are remembered briefly so a flood of bad keys cannot
            # turn into a flood of queries.
            ttl = settings.API_KEY_SHARED_TTL if principal else 10
            value = _principal_encoder.encode(principal) if principal else _MISSING
            await link.run("api_keys", lambda r: r.set(shared, value, ex=ttl))
        return principal

    def forget(self, key_hash: str) -> None:
        self._local.pop(key_hash, None)
        self._fetching.forget(key_hash)  # calls from now on look the key up again
        if redis_enabled():
            shared = _shared_key(key_hash)
            link.write_later("api_keys", lambda r: r.delete(shared))

    def clear(self) -> None:
        self._local.clear()
        self._fetching.clear()


# The per-process key table (one per worker process, by design).
key_cache = KeyCache()


def forget_key(key_hash: str) -> None:
    key_cache.forget(key_hash)


def bearer_token(headers: dict[str, str], *, allow_x_api_key: bool = False) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    if allow_x_api_key:
        return headers.get("x-api-key") or None
    return None


async def authenticate(token: str | None, *, required_scope: str = KeyScope.INFERENCE) -> Principal:
    if not token:
        raise GatewayError(
            ErrorType.AUTHENTICATION,
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
            code="invalid_api_key",
        )
    return await authenticate_hash(hash_secret(token), required_scope=required_scope)


async def authenticate_hash(key_hash: str, *, required_scope: str = KeyScope.INFERENCE) -> Principal:
    """The key with this SHA-256, checked as a presented key is. In-process
    callers that signed a person in themselves (the chat app) act by the hash
    of a key they hold no secret for."""
    principal = await key_cache.get(key_hash)
    if principal is None or not principal.workspace_active:
        raise GatewayError(ErrorType.AUTHENTICATION, "Incorrect API key provided.", code="invalid_api_key")
    if principal.revoked:
        raise GatewayError(ErrorType.AUTHENTICATION, "This API key has been revoked.", code="invalid_api_key")
    if principal.workspace_suspended:
        raise GatewayError(ErrorType.PERMISSION, SUSPENDED_MESSAGE, code="workspace_suspended")
    if principal.expires_at is not None and principal.expires_at <= time.time():
        raise GatewayError(ErrorType.AUTHENTICATION, "This API key has expired.", code="invalid_api_key")
    if principal.scope != required_scope:
        raise GatewayError(
            ErrorType.PERMISSION,
            f"This key has scope '{principal.scope}'; this endpoint needs '{required_scope}'.",
            code="wrong_key_scope",
        )
    return principal
