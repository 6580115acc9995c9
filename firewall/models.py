from __future__ import annotations

from django.conf import settings
from django.db import models

from firewall.engine.types import Action, Detector, MatcherKind, Scope


class Policy(models.Model):
    """A named group of rules in one workspace. Enabled policies apply to every
    /v1 call of the workspace, in ``order``."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="firewall_policies"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    order = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="uniq_firewall_policy_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.workspace})"


class Rule(models.Model):
    """One matcher, the scopes it watches, and what to do on a match."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    order = models.IntegerField(default=0)
    matcher = models.CharField(max_length=16, choices=[(m.value, m.value) for m in MatcherKind])
    pattern = models.TextField(blank=True, help_text="The substring or regular expression.")
    ignore_case = models.BooleanField(default=False)
    detector = models.CharField(max_length=32, blank=True, choices=[(d.value, d.value) for d in Detector])
    scopes = models.JSONField(default=list, help_text=f"Any of: {', '.join(s.value for s in Scope)}.")
    action = models.CharField(max_length=8, choices=[(a.value, a.value) for a in Action])
    label = models.CharField(
        max_length=32, blank=True, help_text="Placeholder label for masks, e.g. CODENAME."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class AuditEntry(models.Model):
    """Who changed which firewall policy, when, and how (append-only)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="The user, or 'api-key:<prefix>'.")
    action = models.CharField(max_length=32)  # policy.create | policy.update | policy.delete
    policy_id = models.BigIntegerField(null=True, blank=True)
    policy_name = models.CharField(max_length=200)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.policy_name} by {self.actor_label}"
