"""What each purpose accepts, and how long files live."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from files import sniff
from files.errors import FilesError, FilesErrorCode
from files.models import FilePurpose

# The sniffed content types each purpose accepts.
PURPOSE_TYPES: dict[str, frozenset[str]] = {
    FilePurpose.USER_DATA: sniff.ALL_TYPES,
    FilePurpose.ASSISTANTS: sniff.ALL_TYPES,
    FilePurpose.VISION: sniff.IMAGE_TYPES,
    FilePurpose.BATCH: frozenset({sniff.JSONL, sniff.JSON}),
    FilePurpose.EVALS: frozenset({sniff.JSONL, sniff.JSON}),
}

# OpenAI's bounds for expires_after.seconds (1 hour to 30 days).
MIN_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 30 * 24 * 3600


def check_purpose(purpose: str | None) -> str:
    if purpose not in PURPOSE_TYPES:
        allowed = ", ".join(f"'{p}'" for p in PURPOSE_TYPES)
        raise FilesError(
            FilesErrorCode.INVALID_PURPOSE,
            f"Invalid 'purpose': {purpose!r}. Expected one of {allowed}.",
            param="purpose",
        )
    return purpose


def check_content_type(*, purpose: str, content_type: str | None, size: int) -> str:
    """The sniffed type, if ``purpose`` takes it; otherwise a 400 naming ``file``."""
    if size == 0:
        raise FilesError(FilesErrorCode.INVALID_FILE, "The file is empty.", param="file")
    if content_type is None:
        raise FilesError(
            FilesErrorCode.INVALID_FILE,
            "The file's content is not a supported type (PDF, PNG, JPEG, GIF, WebP, plain text, "
            "Markdown, CSV, JSON or JSON Lines).",
            param="file",
        )
    if content_type not in PURPOSE_TYPES[purpose]:
        raise FilesError(
            FilesErrorCode.INVALID_FILE,
            f"A file of type {content_type} cannot be uploaded with purpose '{purpose}'.",
            param="file",
        )
    return content_type


def expiry(*, purpose: str, anchor: str | None, seconds: str | None, created_at: datetime) -> datetime | None:
    """``expires_after`` (anchor ``created_at``, 3600 to 2592000 seconds); batch
    files expire after ``FILES_BATCH_EXPIRES_SECONDS`` when it is not given."""
    if anchor is None and seconds is None:
        if purpose == FilePurpose.BATCH:
            return created_at + timedelta(seconds=settings.FILES_BATCH_EXPIRES_SECONDS)
        return None
    if anchor != "created_at":
        raise FilesError(
            FilesErrorCode.INVALID_EXPIRY,
            "Invalid 'expires_after.anchor': expected 'created_at'.",
            param="expires_after.anchor",
        )
    if seconds is None or not seconds.strip().isdigit():
        raise FilesError(
            FilesErrorCode.INVALID_EXPIRY,
            "Invalid 'expires_after.seconds': expected an integer.",
            param="expires_after.seconds",
        )
    value = int(seconds)
    if not MIN_EXPIRY_SECONDS <= value <= MAX_EXPIRY_SECONDS:
        raise FilesError(
            FilesErrorCode.INVALID_EXPIRY,
            f"Invalid 'expires_after.seconds': must be between {MIN_EXPIRY_SECONDS} and {MAX_EXPIRY_SECONDS}.",
            param="expires_after.seconds",
        )
    return created_at + timedelta(seconds=value)
