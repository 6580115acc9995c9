"""Stored files: one row per blob a workspace uploaded (or Junction made)."""

from __future__ import annotations

from django.db import models


class FilePurpose(models.TextChoices):
    """The purposes the OpenAI files API accepts on upload."""

    USER_DATA = "user_data"
    ASSISTANTS = "assistants"
    VISION = "vision"
    BATCH = "batch"
    EVALS = "evals"


class FileStatus(models.TextChoices):
    PROCESSED = "processed"  # stored and usable
    DELETED = "deleted"  # gone for clients; its blob is being removed


class File(models.Model):
    """A blob in storage and what Junction knows about it.

    ``public_id`` (``file-…``) is what clients see: a millisecond timestamp
    then random bits, so it sorts by creation and is the list cursor.
    ``storage_key`` is random,
    never shown, and names the blob in the storage backend. ``content_type``
    is sniffed from the bytes, never taken from the client."""

    public_id = models.CharField(max_length=40, unique=True)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="files")
    purpose = models.CharField(max_length=32, choices=FilePurpose.choices)
    filename = models.CharField(max_length=255)
    bytes = models.BigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=16, choices=FileStatus.choices, default=FileStatus.PROCESSED)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "public_id"], name="files_ws_list"),
            models.Index(fields=["expires_at"], name="files_expires"),
            models.Index(fields=["status"], name="files_status"),
        ]

    def __str__(self) -> str:
        return self.public_id
