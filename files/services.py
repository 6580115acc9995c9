"""Writes: storing, deleting and expiring files (each with its blob)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from files import policy, signing
from files.errors import FilesError, FilesErrorCode
from files.models import File, FileStatus
from files.selectors import files_to_remove
from files.sniff import Sniffer
from files.storage import blob_delete, blob_presigned_url, blob_save, new_blob_key

logger = logging.getLogger("junction.files")


def new_file_id(now: float | None = None) -> str:
    """``file-`` + the creation time in ms (12 hex digits) + 48 random bits:
    ids sort by creation, so an id is a list cursor that needs no lookup."""
    ms = int((time.time() if now is None else now) * 1000)
    return f"file-{ms:012x}{secrets.token_hex(6)}"


def tmp_dir() -> str:
    path = str(settings.FILES_TMP_DIR)
    os.makedirs(path, exist_ok=True)
    return path


@dataclass(frozen=True, slots=True)
class NewFile:
    """What is known about a file before it is stored (its bytes are on local disk)."""

    workspace_id: int
    purpose: str
    filename: str
    size: int
    sha256: str
    content_type: str
    created_at: datetime
    expires_at: datetime | None = None


def file_row_create(*, key: str, new: NewFile) -> File:
    return File.objects.create(
        public_id=new_file_id(new.created_at.timestamp()),
        workspace_id=new.workspace_id,
        purpose=new.purpose,
        filename=new.filename[:255] or "file",
        bytes=new.size,
        content_type=new.content_type,
        sha256=new.sha256,
        storage_key=key,
        created_at=new.created_at,
        expires_at=new.expires_at,
    )


def file_create(*, new: NewFile, path: str) -> File:
    """Move the local file at ``path`` into blob storage and record it."""
    key = blob_save(key=new_blob_key(new.workspace_id), path=path, content_type=new.content_type)
    try:
        return file_row_create(key=key, new=new)
    except BaseException:
        blob_delete(key)
        raise


async def file_create_async(*, new: NewFile, path: str) -> File:
    """``file_create`` from the event loop: the blob moves on a worker thread
    (an S3 upload must not hold asgiref's one shared thread), the row is
    written on Django's database thread."""
    key = await asyncio.to_thread(
        blob_save, key=new_blob_key(new.workspace_id), path=path, content_type=new.content_type
    )
    try:
        return await sync_to_async(file_row_create)(key=key, new=new)
    except BaseException:
        await asyncio.to_thread(blob_delete, key)
        raise


def file_create_from_bytes(
    *,
    workspace_id: int,
    purpose: str,
    filename: str,
    data: bytes,
    content_type: str,
    expires_at: datetime | None = None,
) -> File:
    """Store bytes Junction already holds (a generated image, a small answer)."""
    with tempfile.NamedTemporaryFile(dir=tmp_dir(), prefix="blob-", delete=False) as handle:
        handle.write(data)
    new = NewFile(
        workspace_id=workspace_id,
        purpose=purpose,
        filename=filename,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=content_type,
        created_at=timezone.now(),
        expires_at=expires_at,
    )
    try:
        return file_create(new=new, path=handle.name)
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)


def too_large(limit: int) -> FilesError:
    return FilesError(FilesErrorCode.TOO_LARGE, f"The file exceeds the limit of {limit} bytes.", param="file")


def file_upload(
    *,
    workspace_id: int,
    purpose: str,
    filename: str,
    chunks: Iterable[bytes],
    expires_seconds: int | None = None,
) -> File:
    """An upload that is not a /v1 multipart stream (the console's form):
    the same limit (``FILES_MAX_BYTES``), sniffing, purpose rules and expiry
    as ``POST /v1/files``, then ``file_create``. ``FilesError`` on bad input."""
    purpose = policy.check_purpose(purpose)
    created_at = timezone.now()
    expires_at = policy.expiry(
        purpose=purpose,
        anchor="created_at" if expires_seconds is not None else None,
        seconds=str(expires_seconds) if expires_seconds is not None else None,
        created_at=created_at,
    )
    limit = settings.FILES_MAX_BYTES
    sniffer = Sniffer()
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=tmp_dir(), prefix="upload-", delete=False) as handle:
        try:
            for chunk in chunks:
                sniffer.feed(chunk)
                if sniffer.size > limit:
                    raise too_large(limit)
                digest.update(chunk)
                handle.write(chunk)
        except BaseException:
            handle.close()
            os.unlink(handle.name)
            raise
    try:
        sniffed = policy.check_content_type(
            purpose=purpose, content_type=sniffer.content_type(filename), size=sniffer.size
        )
        new = NewFile(
            workspace_id=workspace_id,
            purpose=purpose,
            filename=filename,
            size=sniffer.size,
            sha256=digest.hexdigest(),
            content_type=sniffed,
            created_at=created_at,
            expires_at=expires_at,
        )
        return file_create(new=new, path=handle.name)
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)


def file_delete(*, file: File) -> None:
    """Gone for clients at once; then its blob, then its row. If removing the
    blob fails, the row stays ``deleted`` and ``files_purge`` retries it."""
    File.objects.filter(pk=file.pk).update(status=FileStatus.DELETED)
    blob_delete(file.storage_key)
    File.objects.filter(pk=file.pk).delete()


async def file_delete_async(*, file: File) -> None:
    await sync_to_async(File.objects.filter(pk=file.pk).update)(status=FileStatus.DELETED)
    await asyncio.to_thread(blob_delete, file.storage_key)
    await sync_to_async(File.objects.filter(pk=file.pk).delete)()


def files_purge(*, now: datetime | None = None, batch: int = 500) -> int:
    """Remove expired and deleted files with their blobs (the beat task).
    Returns how many were removed; a blob that fails to go is retried next run."""
    now = now or timezone.now()
    removed = 0
    for file in files_to_remove(now=now, limit=batch):
        try:
            file_delete(file=file)
        except Exception:
            logger.exception("could not remove the blob of %s", file.public_id)
            continue
        removed += 1
    return removed


@dataclass(frozen=True, slots=True)
class SignedUrl:
    url: str
    expires_at: int


def file_signed_url(*, file: File, base_url: str, ttl: int | None = None) -> SignedUrl:
    """A link that reads the blob without an auth header until it expires:
    S3's presigned URL on S3, else Junction's own (``files.signing``) under
    ``base_url`` (the public origin, e.g. ``https://junction.example``)."""
    ttl = ttl or settings.FILES_URL_TTL
    expires = int(time.time()) + ttl
    presigned = blob_presigned_url(
        key=file.storage_key, ttl=ttl, filename=file.filename, content_type=file.content_type
    )
    if presigned is not None:
        return SignedUrl(url=presigned, expires_at=expires)
    return SignedUrl(
        url=base_url.rstrip("/") + signing.signed_path(file.public_id, expires), expires_at=expires
    )
