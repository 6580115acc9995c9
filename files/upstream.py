"""Files sent by reference: uploaded once to the upstream's own files API,
then named by the upstream's id on every later call.

``place_files`` runs once per attempt, after routing chose the deployment and
before the provider builds its request (``gateway.pipeline.send_attempt``).
It puts each part that came from a Junction file id back to its inline form
(``files.inputs`` made it a data URL), then, for the deployment's upstream:

- **OpenAI** (kind ``openai``): a document of at least
  ``FILES_UPSTREAM_MIN_BYTES`` is uploaded to ``POST {base_url}/files``
  (purpose ``user_data``, ``expires_after`` ``FILES_UPSTREAM_TTL``, never past
  the file's own expiry) with the deployment's credentials, and sent as
  ``file_id``. Images stay inline (Chat Completions has no image by id). An
  upload that fails leaves the part inline: the call goes on.
- **Gemini** (kind ``gemini``): when the request's inline content passes
  ``FILES_GEMINI_INLINE_MAX_BYTES`` (Gemini refuses requests over 20 MB),
  the largest Junction files go through Gemini's Files API (a resumable
  upload: ``POST {origin}/upload/{version}/files`` to start, then the bytes
  with ``upload, finalize``) until the rest fits, and are sent as
  ``fileData: {fileUri, mimeType}``. An upload that fails is a retryable
  error (the request could not be sent inline).

The upstream id is cached in ``UpstreamFile``, keyed by the Junction file and
a fingerprint of the account (an HMAC of the kind, base URL and key -- never
the key), until shortly before the upstream forgets it. When the upstream
answers that an id we sent is gone (its error names it), ``forget_gone``
drops those rows and the pipeline sends the attempt once more, re-uploading.

Providers stay pure: they only see parts with an id or a URI instead of a
data URL. All HTTP goes through ``gateway.http``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import msgspec
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from files.models import File, UpstreamFile
from gateway.canonical import FilePart, ImagePart, Part
from gateway.catalog.snapshot import Credentials, DeploymentInfo
from gateway.errors import ErrorType, GatewayError
from gateway.http import UpstreamFailure, upstream_post

logger = logging.getLogger("junction.files")

OPENAI = "openai"
GEMINI = "gemini"
# A cached id is not used in its last hour: an upstream that is about to
# forget it might do so mid-call.
EXPIRY_MARGIN = timedelta(hours=1)
GEMINI_TTL = timedelta(hours=48)  # Gemini keeps an uploaded file for 48 hours


@dataclass(slots=True)
class ByIdPart:
    """A part that named a Junction file: where it sits, its inline form."""

    content: list[Part]
    index: int
    inline: ImagePart | FilePart
    file: File
    data: bytes


@dataclass(slots=True)
class Placement:
    """The files stage's per-call record of what went upstream by reference."""

    by_id: list[ByIdPart] = field(default_factory=list)
    inline_other: int = 0  # the request's other inline content (data URLs), in bytes
    sent: dict[str, int] = field(default_factory=dict)  # a token the upstream would name -> UpstreamFile pk
    retried: bool = False
    uploads: int = 0  # uploads made by this call (for the log)
    reused: int = 0  # cached ids this call sent


class UploadFailed(Exception):
    pass


def account_fingerprint(*, kind: str, credentials: Credentials) -> str:
    """Which upstream account a cached id belongs to: an HMAC of the kind, the
    base URL and the key. The key itself is never stored."""
    message = f"{kind}\n{credentials.base_url}\n{credentials.api_key}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ placing


async def place_files(placement: Placement, deployment: DeploymentInfo, credentials: Credentials) -> None:
    """Before the provider builds this attempt's request: each Junction file
    part inline again, then by reference where this upstream should get it so."""
    for part in placement.by_id:
        part.content[part.index] = part.inline
    placement.sent = {}
    if not placement.by_id:
        return
    kind = deployment.provider.kind
    if kind == OPENAI:
        chosen = [
            p
            for p in placement.by_id
            if isinstance(p.inline, FilePart) and p.file.bytes >= settings.FILES_UPSTREAM_MIN_BYTES
        ]
    elif kind == GEMINI:
        chosen = _gemini_choice(placement)
    else:
        return
    if not chosen:
        return
    account = account_fingerprint(kind=kind, credentials=credentials)
    refs: dict[int, UpstreamFile | None] = {}
    for part in chosen:
        if part.file.pk not in refs:
            refs[part.file.pk] = await _reference(placement, part, kind, deployment, credentials, account)
        ref = refs[part.file.pk]
        if ref is None:
            continue  # the upload failed; the part stays inline
        part.content[part.index] = _by_reference(kind, part, ref)
        placement.sent[_token(ref)] = ref.pk


def inline_size(part: Part) -> int:
    """The length of a part's data URL (0 for text and by-URL parts)."""
    if isinstance(part, ImagePart):
        return len(part.url) if part.url.startswith("data:") else 0
    if isinstance(part, FilePart) and part.data_url:
        return len(part.data_url)
    return 0


def _gemini_choice(placement: Placement) -> list[ByIdPart]:
    """The Junction files to upload so the request's inline content fits
    ``FILES_GEMINI_INLINE_MAX_BYTES``: the largest first, until it does."""
    limit = settings.FILES_GEMINI_INLINE_MAX_BYTES
    total = placement.inline_other + sum(inline_size(p.inline) for p in placement.by_id)
    chosen: list[ByIdPart] = []
    for part in sorted(placement.by_id, key=lambda p: p.file.bytes, reverse=True):
        if total <= limit:
            break
        chosen.append(part)
        total -= inline_size(part.inline)
    return chosen


def _by_reference(kind: str, part: ByIdPart, ref: UpstreamFile) -> Part:
    if kind == OPENAI:
        return FilePart(file_id=ref.upstream_id, param=part.inline.param)
    return FilePart(url=ref.uri, media_type=part.file.content_type, param=part.inline.param)


def _token(ref: UpstreamFile) -> str:
    """What an upstream's error names when it no longer has the file:
    OpenAI's ``file-…`` id, Gemini's bare id (``files/<id>`` -> ``<id>``)."""
    return ref.upstream_id.rsplit("/", 1)[-1]


async def _reference(
    placement: Placement,
    part: ByIdPart,
    kind: str,
    deployment: DeploymentInfo,
    credentials: Credentials,
    account: str,
) -> UpstreamFile | None:
    now = timezone.now()
    cached = await sync_to_async(_cached)(file=part.file, account=account, now=now)
    if cached is not None:
        placement.reused += 1
        return cached
    provider = deployment.provider.slug
    try:
        if kind == OPENAI:
            upstream_id, uri, expires_at = await _openai_upload(part, credentials, now)
        else:
            upstream_id, uri, expires_at = await _gemini_upload(part, credentials, now)
    except (UploadFailed, UpstreamFailure) as exc:
        logger.warning("upload of %s to %s failed: %s", part.file.public_id, provider, exc)
        if kind == OPENAI:
            return None
        raise GatewayError(
            ErrorType.UPSTREAM,
            f"Could not upload '{part.file.public_id}' to {provider}'s Files API: {exc}",
            code="upstream_unreachable",
            provider=provider,
            retryable=True,
        ) from None
    placement.uploads += 1
    return await sync_to_async(_remember)(
        file=part.file,
        provider=provider,
        account=account,
        upstream_id=upstream_id,
        uri=uri,
        expires_at=expires_at,
    )


def _cached(*, file: File, account: str, now: datetime) -> UpstreamFile | None:
    return UpstreamFile.objects.filter(file=file, account=account, expires_at__gt=now + EXPIRY_MARGIN).first()


def _remember(
    *, file: File, provider: str, account: str, upstream_id: str, uri: str, expires_at: datetime
) -> UpstreamFile:
    values = {"provider": provider, "upstream_id": upstream_id, "uri": uri, "expires_at": expires_at}
    try:
        row, _ = UpstreamFile.objects.update_or_create(file=file, account=account, defaults=values)
    except IntegrityError:  # a concurrent call uploaded it too: the last upload wins
        UpstreamFile.objects.filter(file=file, account=account).update(**values)
        row = UpstreamFile.objects.get(file=file, account=account)
    return row


async def forget_gone(placement: Placement, err: GatewayError) -> bool:
    """Whether ``err`` says the upstream no longer has an id this attempt sent:
    then its cached rows are dropped and the attempt may be sent once more
    (``place_files`` uploads again). Never twice in one call."""
    if placement.retried or not placement.sent:
        return False
    gone = [pk for token, pk in placement.sent.items() if token in err.message]
    if not gone:
        return False
    placement.retried = True
    await sync_to_async(_forget)(pks=gone)
    return True


def _forget(*, pks: list[int]) -> None:
    UpstreamFile.objects.filter(pk__in=pks).delete()


# ------------------------------------------------------------------ OpenAI


def _multipart(
    fields: list[tuple[str, str]], file_field: str, filename: str, mime: str, data: bytes
) -> tuple[bytes, str]:
    boundary = f"junction-{secrets.token_hex(16)}"
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    safe = filename.replace('"', "").replace("\r", "").replace("\n", "") or "file"
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{safe}"\r\n'
        f"Content-Type: {mime}\r\n\r\n"
    ).encode()
    out += data
    out += f"\r\n--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


async def _post_json(
    url: str, *, body: bytes, headers: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    resp = await upstream_post(url, body=body, headers=headers)
    try:
        raw = await resp.aread()
    finally:
        await resp.aclose()
    if resp.status_code >= 400:
        raise UploadFailed(f"HTTP {resp.status_code}: {raw[:300].decode('utf-8', 'replace')}")
    try:
        answer = msgspec.json.decode(raw) if raw else {}
    except msgspec.DecodeError:
        raise UploadFailed("the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise UploadFailed("the answer is not a JSON object")
    return answer, resp.headers


def _openai_ttl(file: File, now: datetime) -> int:
    """Seconds the upstream copy lives: ``FILES_UPSTREAM_TTL``, no longer than
    the file itself, within OpenAI's bounds (1 hour to 30 days)."""
    ttl = settings.FILES_UPSTREAM_TTL
    if file.expires_at is not None:
        ttl = min(ttl, int((file.expires_at - now).total_seconds()))
    return max(3600, min(ttl, 30 * 24 * 3600))


async def _openai_upload(
    part: ByIdPart, credentials: Credentials, now: datetime
) -> tuple[str, str, datetime]:
    ttl = _openai_ttl(part.file, now)
    body, content_type = _multipart(
        [
            ("purpose", "user_data"),
            ("expires_after[anchor]", "created_at"),
            ("expires_after[seconds]", str(ttl)),
        ],
        "file",
        part.inline.filename
        if isinstance(part.inline, FilePart) and part.inline.filename
        else part.file.filename,
        part.file.content_type,
        part.data,
    )
    headers = {"content-type": content_type, "accept": "application/json"}
    if credentials.api_key:
        headers["authorization"] = f"Bearer {credentials.api_key}"
    answer, _ = await _post_json(f"{credentials.base_url}/files", body=body, headers=headers)
    upstream_id = answer.get("id")
    if not isinstance(upstream_id, str) or not upstream_id:
        raise UploadFailed("the answer has no file id")
    expires = answer.get("expires_at")
    expires_at = (
        datetime.fromtimestamp(expires, tz=UTC)
        if isinstance(expires, int) and not isinstance(expires, bool)
        else now + timedelta(seconds=ttl)
    )
    return upstream_id, "", expires_at


# ------------------------------------------------------------------ Gemini


def gemini_upload_url(base_url: str) -> str:
    """``https://host/v1beta`` -> ``https://host/upload/v1beta/files``."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/upload{parts.path.rstrip('/')}/files"


async def _gemini_upload(
    part: ByIdPart, credentials: Credentials, now: datetime
) -> tuple[str, str, datetime]:
    size = len(part.data)
    mime = part.file.content_type
    start = msgspec.json.encode({"file": {"display_name": part.file.filename[:512]}})
    headers = {
        "x-goog-api-key": credentials.api_key,
        "x-goog-upload-protocol": "resumable",
        "x-goog-upload-command": "start",
        "x-goog-upload-header-content-length": str(size),
        "x-goog-upload-header-content-type": mime,
        "content-type": "application/json",
    }
    _, answer_headers = await _post_json(gemini_upload_url(credentials.base_url), body=start, headers=headers)
    session = answer_headers.get("x-goog-upload-url")
    if not session:
        raise UploadFailed("the start of the upload gave no x-goog-upload-url")
    answer, _ = await _post_json(
        session,
        body=part.data,
        headers={"x-goog-upload-offset": "0", "x-goog-upload-command": "upload, finalize"},
    )
    uploaded = answer.get("file")
    if not isinstance(uploaded, dict) or not uploaded.get("name") or not uploaded.get("uri"):
        raise UploadFailed("the answer has no file name or uri")
    if uploaded.get("state") == "FAILED":
        raise UploadFailed(f"Gemini could not process the file: {uploaded.get('error')}")
    expires = parse_datetime(str(uploaded.get("expirationTime") or ""))
    return str(uploaded["name"]), str(uploaded["uri"]), expires or now + GEMINI_TTL
