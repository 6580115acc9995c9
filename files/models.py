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


class ImageSource(models.TextChoices):
    """Which surface made a generated image."""

    IMAGES_API = "images_api"  # POST /v1/images/generations or /edits
    RESPONSES_TOOL = "responses_tool"  # the image_generation tool on /v1/responses


class GeneratedImage(models.Model):
    """An image a model made for a workspace: what was asked, by which model,
    what it cost, and the stored blob (a ``File`` of purpose ``vision``, so it
    can be passed back as model input by its ``file-…`` id).

    ``prompt`` is bounded (``PROMPT_MAX`` characters); ``cost_units`` is this
    image's share of the call's charge (1 unit = 1/10,000 USD)."""

    PROMPT_MAX = 4000

    public_id = models.CharField(max_length=40, unique=True)
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="generated_images"
    )
    file = models.OneToOneField(File, on_delete=models.CASCADE, related_name="generated_image")
    request_id = models.CharField(max_length=64, db_index=True)
    source = models.CharField(max_length=32, choices=ImageSource.choices)
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=64, blank=True, default="")
    prompt = models.TextField(blank=True, default="")
    revised_prompt = models.TextField(blank=True, default="")
    size = models.CharField(max_length=32, blank=True, default="")
    quality = models.CharField(max_length=16, blank=True, default="")
    cost_units = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="genimg_ws_recent")]

    def __str__(self) -> str:
        return self.public_id


class ImageJobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImageJob(models.Model):
    """One images API call run as a Celery task. The HTTP call waits for it on
    the channel layer; when it waits too long the client gets the job's id and
    reads the result from ``GET /v1/images/jobs/{id}`` for ``IMAGES_JOB_TTL``.

    ``result`` is the answer without image bytes or links (each image is named
    by its ``GeneratedImage`` id and rendered afresh on read); ``error`` is the
    OpenAI-shaped error body of a failed job."""

    public_id = models.CharField(max_length=40, unique=True)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="image_jobs")
    request_id = models.CharField(max_length=64, db_index=True)
    operation = models.CharField(max_length=16)  # generations | edits
    status = models.CharField(max_length=16, choices=ImageJobStatus.choices, default=ImageJobStatus.QUEUED)
    response_format = models.CharField(max_length=16, default="url")
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    error_status = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="imgjob_created")]

    def __str__(self) -> str:
        return self.public_id


class UpstreamFile(models.Model):
    """A file's copy in an upstream's own files API (``files.upstream``): the
    upstream's id (OpenAI ``file-…``, Gemini ``files/…``) and URI, for one
    upstream account, until the upstream forgets it. ``account`` is an HMAC
    of the provider kind, base URL and key -- never the key."""

    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="upstream_copies")
    provider = models.CharField(max_length=64)
    account = models.CharField(max_length=64)
    upstream_id = models.CharField(max_length=255)
    uri = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "account"], name="files_upstream_once")]

    def __str__(self) -> str:
        return f"{self.file_id} @ {self.provider}: {self.upstream_id}"
