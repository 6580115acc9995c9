from __future__ import annotations

from django.conf import settings
from django.db import models


class MatchMode(models.TextChoices):
    ALL = "all", "All conditions"
    ANY = "any", "Any condition"


class RoutingRule(models.Model):
    """One workspace routing rule: conditions and an action, as JSON in the
    format of ``docs/routing.md`` (validated on save by the service)."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="routing_rules"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    priority = models.IntegerField(default=100, help_text="Lower runs first.")
    enabled = models.BooleanField(default=True)
    match = models.CharField(max_length=8, choices=MatchMode.choices, default=MatchMode.ALL)
    conditions = models.JSONField(default=list, blank=True)
    action = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]
        indexes = [models.Index(fields=["workspace", "priority"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.workspace})"


class ProviderKey(models.Model):
    """A workspace's own key for an upstream provider, encrypted at rest
    (Fernet, keys from ``PROVIDER_KEY_ENCRYPTION_KEYS``). Only ``hint`` is
    ever shown after creation. Position 0 is the primary; higher positions
    are tried in order when an earlier key fails with a retryable error."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="provider_keys"
    )
    provider = models.SlugField(max_length=64, help_text="The catalog provider's slug.")
    label = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    ciphertext = models.TextField(editable=False)
    hint = models.CharField(max_length=32, editable=False)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "position", "id"]
        indexes = [models.Index(fields=["workspace", "provider", "position"])]

    def __str__(self) -> str:
        return f"{self.provider} {self.hint} ({self.workspace})"
