"""Blob storage: one interface over django-storages' backends.

``STORAGES["files"]`` picks the backend (config/settings/files.py): the local file
system under ``var/files`` by default, S3 (boto3; AWS, MinIO, R2) when
``S3_BUCKET`` is set. Everything Junction does with a blob goes through the
functions here; they are synchronous (call them from a thread on the event
loop) and read in chunks, so a blob is never held whole unless the caller
asks for its bytes (``blob_read``, for model input under the request cap).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Generator
from urllib.parse import quote

from django.core.files import File as DjangoFile
from django.core.files.storage import Storage, storages
from storages.backends.s3 import S3Storage

STORAGE_ALIAS = "files"
CHUNK_BYTES = 1024 * 1024


def blob_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def is_s3(storage: Storage) -> bool:
    return isinstance(storage, S3Storage)


def new_blob_key(workspace_id: int) -> str:
    """A key nobody can guess (128 random bits); never shown to clients."""
    return f"{workspace_id}/{secrets.token_hex(16)}"


class _LocalUpload(DjangoFile):
    """A file already on local disk: the file-system backend moves it into
    place instead of copying it; S3 uploads it in parts."""

    def temporary_file_path(self) -> str:
        return str(self.name)


def blob_save(*, key: str, path: str, content_type: str) -> str:
    """Store the local file at ``path`` under ``key`` (the file is consumed).
    Returns the key the backend stored it under."""
    storage = blob_storage()
    with open(path, "rb") as handle:
        upload = _LocalUpload(handle, name=path)
        upload.content_type = content_type  # type: ignore[attr-defined]  # django-storages reads it
        stored = storage.save(key, upload)
    if os.path.exists(path):
        os.unlink(path)
    return stored


def blob_chunks(key: str, chunk_bytes: int = CHUNK_BYTES) -> Generator[bytes, None, None]:
    """The blob's bytes in order, ``chunk_bytes`` at a time (S3: one streamed
    GET; django-storages' S3File would first copy the object to a buffer)."""
    storage = blob_storage()
    if isinstance(storage, S3Storage):
        body = storage.bucket.Object(storage._normalize_name(key)).get()["Body"]
        try:
            yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()
        return
    with storage.open(key, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            yield chunk


def blob_read(key: str) -> bytes:
    return b"".join(blob_chunks(key))


def blob_delete(key: str) -> None:
    """Remove the blob; a blob already gone is not an error."""
    blob_storage().delete(key)


def blob_exists(key: str) -> bool:
    return blob_storage().exists(key)


def blob_presigned_url(*, key: str, ttl: int, filename: str, content_type: str) -> str | None:
    """The storage's own signed GET URL (S3 presigned), or None when the
    backend has none (local disk: Junction signs and serves it)."""
    storage = blob_storage()
    if not isinstance(storage, S3Storage):
        return None
    params = {
        "ResponseContentType": content_type,
        "ResponseContentDisposition": content_disposition(filename, content_type),
    }
    return str(storage.url(key, parameters=params, expire=ttl))


def content_disposition(filename: str, content_type: str) -> str:
    """Images show in a browser; everything else downloads (uploads are never
    rendered as a page of Junction's origin)."""
    kind = "inline" if content_type.startswith("image/") else "attachment"
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "").replace("\\", "")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
