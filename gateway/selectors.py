"""Readers of request logs, shared by the management API and the console.

Pages are keyset-paginated on ``(created_at, id)``, newest first: the next
page starts strictly after the last row shown, so a page costs the same
whether it is the first or the thousandth, and nothing counts the table.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from accounts.models import ApiKey
from gateway.models import RequestLog

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# What a list row needs; the detail reads the whole row.
LIST_FIELDS = (
    "id", "request_id", "created_at", "api_key_id", "endpoint", "model_requested", "model_used",
    "provider", "status_code", "error_type", "stream", "input_tokens", "output_tokens",
    "charged_units", "latency_ms", "ttfb_ms",
)  # fmt: skip


class CursorError(ValueError):
    """A pagination cursor this server did not make."""


@dataclass(frozen=True, slots=True)
class StatusFilter:
    """One status code, or a class: ``2xx``, ``4xx``, ``5xx``, ``error`` (>= 400)."""

    low: int
    high: int  # inclusive

    @classmethod
    def parse(cls, text: str) -> StatusFilter:
        text = text.strip().lower()
        if text == "error":
            return cls(400, 599)
        if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
            base = int(text[0]) * 100
            return cls(base, base + 99)
        if text.isdigit() and 100 <= int(text) <= 599:
            return cls(int(text), int(text))
        raise ValueError(f"'{text}' is not a status: give a code (429), a class (4xx) or 'error'.")


@dataclass(frozen=True, slots=True)
class LogFilters:
    since: datetime | None = None
    until: datetime | None = None
    api_key_prefix: str | None = None
    model: str | None = None
    provider: str | None = None
    status: StatusFilter | None = None
    error_type: str | None = None
    stream: bool | None = None
    metadata_key: str | None = None
    metadata_value: str | None = None
    request_id: str | None = None

    def is_empty(self) -> bool:
        return self == LogFilters()


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            when, _, ident = raw.partition("|")
            created_at = parse_datetime(when)
            if created_at is None:
                raise ValueError(when)
            return cls(created_at, int(ident))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise CursorError("This cursor is not valid; start again without it.") from exc


@dataclass(frozen=True, slots=True)
class LogPage:
    rows: list[RequestLog]
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def request_logs_filtered(*, workspace_id: int, filters: LogFilters) -> QuerySet[RequestLog]:
    logs = RequestLog.objects.filter(workspace_id=workspace_id)
    f = filters
    if f.request_id:
        logs = logs.filter(request_id=f.request_id)
    if f.since:
        logs = logs.filter(created_at__gte=f.since)
    if f.until:
        logs = logs.filter(created_at__lt=f.until)
    if f.api_key_prefix:
        key_ids = ApiKey.objects.filter(workspace_id=workspace_id, prefix=f.api_key_prefix).values("id")
        logs = logs.filter(api_key_id__in=key_ids)
    if f.model:
        # The model that served the call; for a call that never reached one, the model asked for.
        logs = logs.filter(Q(model_used=f.model) | Q(model_used="", model_requested=f.model))
    if f.provider:
        logs = logs.filter(provider=f.provider)
    if f.status:
        if f.status.low == f.status.high:
            logs = logs.filter(status_code=f.status.low)
        else:
            logs = logs.filter(status_code__gte=f.status.low, status_code__lte=f.status.high)
    if f.error_type:
        logs = logs.filter(error_type=f.error_type)
    if f.stream is not None:
        logs = logs.filter(stream=f.stream)
    if f.metadata_key:
        if f.metadata_value is None:
            logs = logs.filter(metadata__has_key=f.metadata_key)
        else:
            # metadata[key] as text (any key, "__" included) == value.
            text = Cast(KeyTextTransform(f.metadata_key, "metadata"), TextField())
            logs = logs.alias(_metadata_value=text).filter(_metadata_value=f.metadata_value)
    return logs


def request_log_page(
    *,
    workspace_id: int,
    filters: LogFilters = LogFilters(),
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> LogPage:
    """One page, newest first. Raises ``CursorError`` for a cursor it did not make."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    logs = request_logs_filtered(workspace_id=workspace_id, filters=filters)
    if cursor:
        after = Cursor.decode(cursor)
        logs = logs.filter(
            Q(created_at__lt=after.created_at) | Q(created_at=after.created_at, id__lt=after.id)
        )
    rows = list(logs.only(*LIST_FIELDS).order_by("-created_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = Cursor(rows[-1].created_at, rows[-1].pk).encode() if more else None
    return LogPage(rows=rows, next_cursor=next_cursor)


def request_log_get(*, workspace_id: int, request_id: str) -> RequestLog | None:
    """One row of this workspace by request_id (another workspace's is simply not found)."""
    return RequestLog.objects.filter(workspace_id=workspace_id, request_id=request_id).first()


def api_key_prefixes(*, workspace_id: int, key_ids: set[int]) -> dict[int, str]:
    """Key id -> visible prefix, for the keys on a page (one query)."""
    if not key_ids:
        return {}
    return dict(ApiKey.objects.filter(workspace_id=workspace_id, pk__in=key_ids).values_list("pk", "prefix"))
