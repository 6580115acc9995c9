"""Files as model input: the pipeline stage between decode and the firewall.

``resolve_inputs`` turns every image and file part that names a Junction
file id (``input_file.file_id``, ``input_image.file_id``, chat ``file``
parts, Anthropic ``file`` sources) into the bytes it names, read from blob
storage, so every provider receives what it can send: images as data URLs
(OpenAI, OpenAI-compatible; Anthropic ``image`` blocks and Gemini
``inlineData`` from the same data URL), PDFs as data URLs (OpenAI
``file_data``, Anthropic ``document``, Gemini ``inlineData``). Text files
(plain, Markdown, CSV, JSON) become text parts, so the firewall screens them
like any prompt text; PDFs are not read as text (no extractor ships), and the
call's log records them under ``files_unscanned`` (``FileInputs``, the files
stage of the call).

A file id that is unknown, another workspace's, deleted or expired is a 404
naming it; a request whose inline + referenced file content passes
``FILES_REQUEST_MAX_BYTES`` is a 413. ``check_capabilities`` refuses, with a
400 naming the part, an image for a model without ``vision`` or a document
for a model without ``files`` in the catalog.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from files import sniff
from files.models import File
from files.selectors import files_get_many
from files.storage import blob_read
from files.upstream import ByIdPart, Placement, inline_size
from gateway.canonical import FilePart, FileTextPart, ImagePart, Message, Part
from gateway.catalog.snapshot import Catalog, ModelInfo
from gateway.context import CallContext
from gateway.errors import ErrorType, GatewayError, invalid_request
from gateway.stage import CallStage

INLINE_TEXT_TYPES = sniff.TEXT_TYPES | {"text/x-markdown", "application/x-ndjson"}


def _media_parts(ctx: CallContext) -> list[tuple[list[Part], int, ImagePart | FilePart]]:
    """(the list holding it, its index, the part) for every image and file part."""
    found: list[tuple[list[Part], int, ImagePart | FilePart]] = []
    assert ctx.request is not None
    for item in ctx.request.items:
        if isinstance(item, Message):
            for index, part in enumerate(item.content):
                if isinstance(part, ImagePart | FilePart):
                    found.append((item.content, index, part))
    return found


def _name(part: ImagePart | FilePart) -> str:
    return part.param or ("image" if isinstance(part, ImagePart) else "file")


def _inline_size(url: str | None) -> int:
    if not url or not url.startswith("data:"):
        return 0
    return (len(url) - url.find(",") - 1) * 3 // 4


class FileInputs(CallStage):
    """The files stage's part of a call, for the log row: the Junction files
    it used (the console's usage by file reads them) and which documents the
    firewall could not read (PDFs)."""

    __slots__ = ("placement", "unscanned", "used")

    def __init__(self) -> None:
        self.unscanned: list[str] = []
        self.used: list[str] = []
        self.placement = Placement()  # what ``files.upstream`` may send by reference

    def log_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.used:
            extra["files_used"] = self.used
        placement = self.placement
        if placement.uploads or placement.reused:
            extra["files_upstream"] = {"uploaded": placement.uploads, "reused": placement.reused}
        if self.unscanned:
            extra["files_unscanned"] = self.unscanned
        return extra


async def resolve_inputs(ctx: CallContext, stage: FileInputs) -> None:
    parts = _media_parts(ctx)
    if not parts:
        return
    assert ctx.principal is not None
    ids = [p.file_id for _, _, p in parts if p.file_id]
    files: dict[str, File] = {}
    if ids:
        files = await sync_to_async(files_get_many)(workspace_id=ctx.principal.workspace_id, file_ids=ids)
        for _, _, part in parts:
            if part.file_id and part.file_id not in files:
                raise GatewayError(
                    ErrorType.INVALID_REQUEST,
                    f"No such File object: {part.file_id}",
                    status=404,
                    param=_name(part),
                    code="file_not_found",
                )
    total = sum(files[p.file_id].bytes if p.file_id else _inline_size(_inline_url(p)) for _, _, p in parts)
    limit = settings.FILES_REQUEST_MAX_BYTES
    if total > limit:
        raise GatewayError(
            ErrorType.REQUEST_TOO_LARGE,
            f"The request carries {total} bytes of file content; the limit is {limit} bytes per request.",
            param=_name(parts[0][2]),
            code="file_content_too_large",
        )
    blobs: dict[str, bytes] = {}
    if files:
        unique = list(files.values())
        data = await asyncio.gather(*(asyncio.to_thread(blob_read, f.storage_key) for f in unique))
        blobs = {f.public_id: d for f, d in zip(unique, data, strict=True)}
        ctx.force_translate = True  # the caller's body names Junction's ids: never forward it
        stage.used = sorted(files)
    for content, index, part in parts:
        if part.file_id:
            file = files[part.file_id]
            blob = blobs[file.public_id]
            new = _from_file(part, file.content_type, blob, file.filename)
            if isinstance(new, ImagePart | FilePart):
                stage.placement.by_id.append(ByIdPart(content, index, new, file, blob))
        else:
            new = _from_inline(part)
            stage.placement.inline_other += inline_size(new)
        if new is not part:
            content[index] = new
            ctx.force_translate = True
        if isinstance(new, FilePart):
            stage.unscanned.append(part.file_id or new.filename or _name(part))


def _inline_url(part: ImagePart | FilePart) -> str | None:
    return part.url if isinstance(part, ImagePart) else part.data_url


def _data_url(content_type: str, data: bytes) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def _text(filename: str | None, text: str, file_id: str | None = None) -> FileTextPart:
    return FileTextPart(f"[file: {filename}]\n{text}" if filename else text, file_id=file_id)


def _from_file(part: ImagePart | FilePart, content_type: str, data: bytes, filename: str) -> Part:
    if content_type in sniff.IMAGE_TYPES:
        detail = part.detail if isinstance(part, ImagePart) else None
        return ImagePart(url=_data_url(content_type, data), detail=detail, param=part.param)
    if isinstance(part, ImagePart):
        raise invalid_request(
            f"'{part.file_id}' is not an image ({content_type}); send it as a file part.", param=_name(part)
        )
    if content_type in sniff.TEXT_TYPES:
        return _text(part.filename or filename, data.decode("utf-8-sig"), part.file_id)
    return FilePart(
        data_url=_data_url(content_type, data), filename=part.filename or filename, param=part.param
    )


def _from_inline(part: ImagePart | FilePart) -> Part:
    """An inline text file becomes text (the firewall reads it); an inline
    image given as a file becomes an image part; anything else stays."""
    if not isinstance(part, FilePart) or not part.data_url or not part.data_url.startswith("data:"):
        return part
    head, _, payload = part.data_url[5:].partition(",")
    mime, _, encoding = head.partition(";")
    if mime in sniff.IMAGE_TYPES:
        return ImagePart(url=part.data_url, param=part.param)
    if mime not in INLINE_TEXT_TYPES or encoding != "base64":
        return part
    try:
        text = base64.b64decode(payload, validate=True).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_request(
            f"'{_name(part)}' is not base64-encoded UTF-8 text.", param=_name(part)
        ) from None
    return _text(part.filename, text)


# -------------------------------------------------------------- capabilities


def requested_model(name: str, catalog: Catalog) -> ModelInfo | None:
    """The catalog model a model string names exactly (``id``, alias or
    ``provider:id``); None for ``auto`` modes, which the router filters."""
    for candidate in (name, name.partition(":")[2]):
        model_id = catalog.aliases.get(candidate, candidate)
        if model_id in catalog.models:
            return catalog.models[model_id]
    return None


def check_capabilities(ctx: CallContext, catalog: Catalog) -> None:
    """An image needs ``vision``, a document ``files``: a 400 naming the part."""
    assert ctx.request is not None
    parts = _media_parts(ctx)
    model = requested_model(ctx.request.model, catalog) if parts else None
    if model is None:
        return
    for _, _, part in parts:
        needed = "vision" if isinstance(part, ImagePart) else "files"
        if needed not in model.capabilities:
            what = "images" if needed == "vision" else "file input"
            raise GatewayError(
                ErrorType.INVALID_REQUEST,
                f"Model '{model.model_id}' does not accept {what} (no '{needed}' capability); "
                f"remove '{_name(part)}' or choose another model.",
                param=_name(part),
                code="unsupported_parameter",
            )
