"""Conversations and their messages: one person's, in one workspace.

Every lookup goes through both ``workspace`` and ``user`` (``chat.selectors``):
another member of the same workspace never sees a person's conversations."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200, default="New chat")
    model = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "user", "-updated_at"], name="chat_conv_list")]

    def __str__(self) -> str:
        return self.title


class MessageRole(models.TextChoices):
    USER = "user", "You"
    ASSISTANT = "assistant", "Assistant"


class MessageStatus(models.TextChoices):
    STREAMING = "streaming"
    COMPLETE = "complete"
    STOPPED = "stopped"  # the person pressed Stop or closed the tab: what arrived is kept
    FAILED = "failed"


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    content = models.TextField(blank=True)
    # Files the person attached (``files.File`` public ids, stored in blob storage).
    attachments = models.JSONField(default=list, blank=True)
    model = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.COMPLETE)
    error = models.TextField(blank=True)
    # The /v1 call that produced an answer: its request log row holds the
    # tokens and the cost (the one source of truth, as in the console).
    request_id = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"
