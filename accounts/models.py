from __future__ import annotations

from django.conf import settings
from django.db import models


class Workspace(models.Model):
    """The tenant. Every customer-owned row hangs off one workspace."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by an operator (Django admin, accounts.services.workspace_suspend):
    # every key of the workspace is refused; its members still sign in and see why.
    suspended = models.BooleanField(default=False)
    suspended_reason = models.CharField(max_length=500, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.slug


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace} ({self.role})"


class KeyScope(models.TextChoices):
    INFERENCE = "inference", "Inference (/v1)"
    ADMIN = "admin", "Admin (management API)"


class KeyKind(models.TextChoices):
    API = "api", "API key"
    # The chat app's own key for one member: never shown, not listed with the
    # workspace's API keys; it makes the member's chat messages ordinary /v1
    # calls (limited, firewalled, routed, charged and logged like any other).
    CHAT = "chat", "Chat app"


class ApiKey(models.Model):
    """A Junction API key. Only a SHA-256 of the secret is stored, plus a short
    visible prefix (unique) for lookup in the console and for revocation."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=32, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=16, choices=KeyScope.choices, default=KeyScope.INFERENCE)
    kind = models.CharField(max_length=8, choices=KeyKind.choices, default=KeyKind.API)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "created_at"])]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.workspace})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Invitation(models.Model):
    """An invitation to join a workspace with a role. The link carries a random
    token; only its SHA-256 is stored. Accepting it once makes the membership."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["workspace", "created_at"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace} ({self.role})"
