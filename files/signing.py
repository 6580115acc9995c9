"""Signed, expiring blob URLs: an HMAC over the file id and the expiry time.

The URL needs no auth header; whoever holds it may read that one blob until
it expires. A changed id, expiry or signature fails the check (403). The key
is ``FILES_SIGNING_KEY`` (default: ``SECRET_KEY``), salted so it signs
nothing else. On S3 the storage's own presigned URLs are used instead
(``files.storage.blob_presigned_url``).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "junction.files.signed-url"


def sign(file_id: str, expires: int) -> str:
    message = f"{file_id}:{expires}"
    return salted_hmac(SALT, message, secret=settings.FILES_SIGNING_KEY, algorithm="sha256").hexdigest()


def verify(file_id: str, expires: str | None, signature: str | None, *, now: float | None = None) -> bool:
    """True when ``signature`` is this file's for ``expires`` and that time is still ahead."""
    if not expires or not signature or not expires.isdigit():
        return False
    if int(expires) <= (time.time() if now is None else now):
        return False
    return constant_time_compare(sign(file_id, int(expires)), signature)


def signed_path(file_id: str, expires: int) -> str:
    """The path (under /v1) Junction serves a signed blob from."""
    query = urlencode({"expires": expires, "signature": sign(file_id, expires)})
    return f"/v1/files/{file_id}/blob?{query}"
