"""Reads. Every client-facing read is scoped to the caller's workspace; a file
that is another workspace's, deleted or expired is the same 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from files.errors import file_not_found
from files.models import File, FileStatus
from gateway.models import RequestLog


def _live(now: datetime | None = None) -> QuerySet[File]:
    now = now or timezone.now()
    return File.objects.filter(status=FileStatus.PROCESSED).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def file_get(*, workspace_id: int, file_id: str, param: str | None = None) -> File:
    """The workspace's live file ``file_id``; 404 (naming the id) otherwise."""
    file = _live().filter(workspace_id=workspace_id, public_id=file_id).first()
    if file is None:
        raise file_not_found(file_id, param=param)
    return file


def file_get_signed(*, file_id: str) -> File:
    """A live file by id alone: for signed URLs, whose signature is the authority."""
    file = _live().filter(public_id=file_id).first()
    if file is None:
        raise file_not_found(file_id)
    return file


def files_get_many(*, workspace_id: int, file_ids: list[str]) -> dict[str, File]:
    """The live files among ``file_ids`` in one query (absent ids are missing)."""
    rows = _live().filter(workspace_id=workspace_id, public_id__in=set(file_ids))
    return {f.public_id: f for f in rows}


@dataclass(frozen=True, slots=True)
class FilePage:
    files: list[File]
    has_more: bool


def file_list(
    *,
    workspace_id: int,
    purpose: str | None = None,
    limit: int,
    order: str = "desc",
    after: str | None = None,
) -> FilePage:
    """One page, newest first by default; ``after`` is the last id of the previous page."""
    rows = _live().filter(workspace_id=workspace_id)
    if purpose:
        rows = rows.filter(purpose=purpose)
    if after:
        rows = rows.filter(public_id__lt=after) if order == "desc" else rows.filter(public_id__gt=after)
    rows = rows.order_by("-public_id" if order == "desc" else "public_id")
    files = list(rows[: limit + 1])
    return FilePage(files=files[:limit], has_more=len(files) > limit)


def files_to_remove(*, now: datetime, limit: int) -> list[File]:
    """Files whose blobs must go: expired, or deleted but not yet removed."""
    rows = File.objects.filter(
        Q(status=FileStatus.DELETED) | Q(expires_at__isnull=False, expires_at__lte=now)
    ).order_by("id")
    return list(rows[:limit])


@dataclass(frozen=True, slots=True)
class FileUsage:
    calls: int = 0
    cost_units: int = 0  # the upstream's cost
    charged_units: int = 0  # what the workspace paid


def file_usage(*, workspace_id: int, files: list[File]) -> dict[str, FileUsage]:
    """Per file id: how many logged calls used it (``extra.files_used``, written
    by ``files.inputs``) and what they cost. A call that used two files counts
    in full for each. Only the log rows since the oldest of ``files`` was
    created are read (no call can have used a file before it existed)."""
    if not files:
        return {}
    wanted = {f.public_id for f in files}
    since = min(f.created_at for f in files)
    rows = (
        RequestLog.objects.filter(workspace_id=workspace_id, created_at__gte=since)
        .filter(extra__has_key="files_used")
        .values_list("extra", "cost_units", "charged_units")
    )
    totals: dict[str, list[int]] = {}
    for extra, cost, charged in rows.iterator(chunk_size=2000):
        for file_id in set(extra.get("files_used") or ()) & wanted:
            total = totals.setdefault(file_id, [0, 0, 0])
            total[0] += 1
            total[1] += cost
            total[2] += charged
    return {file_id: FileUsage(*total) for file_id, total in totals.items()}
