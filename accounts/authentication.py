"""DRF authentication for the management API (/api/manage/)."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.keys import hash_secret
from accounts.models import KeyScope
from accounts.selectors import api_key_by_hash


class ApiKeyUser:
    """The principal of a request made with an admin API key (not a person)."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    pk = None
    id = None

    def __init__(self, key):
        self.key = key
        self.workspace = key.workspace

    def __str__(self) -> str:
        return f"api-key:{self.key.prefix}"


class AdminApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer jk_…`` with an admin-scoped key."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.lower().startswith("bearer "):
            return None
        secret = header[7:].strip()
        key = api_key_by_hash(key_hash=hash_secret(secret))
        if key is None or key.revoked_at is not None or not key.workspace.is_active:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.expires_at is not None and key.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("API key has expired.")
        if key.workspace.suspended:
            raise exceptions.PermissionDenied(
                "This workspace is suspended; its owners can see why in the console."
            )
        if key.scope != KeyScope.ADMIN:
            raise exceptions.PermissionDenied(
                "This key is an inference key; the management API needs an admin key."
            )
        return ApiKeyUser(key), key

    def authenticate_header(self, request):
        return "Bearer"
