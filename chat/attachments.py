"""Images and PDFs attached to a chat message: checked by their bytes (never
by name or header) and kept in the files app's blob storage, like any file
uploaded through /v1/files."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from files import sniff
from files.models import File, FilePurpose
from files.services import file_create_from_bytes

ALLOWED = sniff.IMAGE_TYPES | {sniff.PDF}


class AttachmentError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def attachment_store(*, workspace_id: int, upload: UploadedFile) -> File:
    limit = settings.CHAT_ATTACHMENT_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise AttachmentError(f"Attachments are limited to {limit // (1024 * 1024)} MB.", status=413)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise AttachmentError(f"Attachments are limited to {limit // (1024 * 1024)} MB.", status=413)
    kind = sniff.magic_type(data[:64])
    if kind not in ALLOWED:
        raise AttachmentError("Attach an image (PNG, JPEG, GIF, WebP) or a PDF.", status=415)
    purpose = FilePurpose.VISION if kind in sniff.IMAGE_TYPES else FilePurpose.USER_DATA
    return file_create_from_bytes(
        workspace_id=workspace_id,
        purpose=purpose,
        filename=(upload.name or "attachment")[:255],
        data=data,
        content_type=kind,
    )
