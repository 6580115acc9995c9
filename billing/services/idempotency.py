"""Idempotency records for model calls made with an ``Idempotency-Key``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import IdempotencyRecord, IdempotencyStatus

# Longer than any call can run (UPSTREAM_READ_TIMEOUT is per read; streams end well before).
ABANDONED_AFTER = timedelta(minutes=30)


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # this call runs and its result will be kept
    MISMATCH = "mismatch"  # the key was used with a different body
    RUNNING = "running"  # the first call with this key has not finished
    DONE = "done"  # the first call finished; replay its result


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: ClaimOutcome
    record: IdempotencyRecord | None = None


def idempotency_window() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


@transaction.atomic
def idempotency_claim(
    *,
    workspace_id: int,
    key: str,
    body_sha256: str,
    request_id: str,
    stream: bool,
    now: datetime | None = None,
) -> Claim:
    now = now or timezone.now()
    # Expired records, and claims a crashed process never finished, free their key.
    IdempotencyRecord.objects.filter(workspace_id=workspace_id, key=key).filter(
        Q(created_at__lt=now - idempotency_window())
        | Q(status=IdempotencyStatus.RUNNING, created_at__lt=now - ABANDONED_AFTER)
    ).delete()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                workspace_id=workspace_id,
                key=key,
                body_sha256=body_sha256,
                request_id=request_id,
                stream=stream,
                created_at=now,
            )
        return Claim(ClaimOutcome.CLAIMED)
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(workspace_id=workspace_id, key=key)
    if record.body_sha256 != body_sha256:
        return Claim(ClaimOutcome.MISMATCH, record)
    if record.status == IdempotencyStatus.RUNNING:
        return Claim(ClaimOutcome.RUNNING, record)
    return Claim(ClaimOutcome.DONE, record)


def idempotency_complete(
    *,
    workspace_id: int,
    key: str,
    request_id: str,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> None:
    IdempotencyRecord.objects.filter(workspace_id=workspace_id, key=key, request_id=request_id).update(
        status=IdempotencyStatus.DONE,
        response_status=status,
        response_headers=headers or {},
        response_body=body,
    )


def idempotency_release(*, workspace_id: int, key: str, request_id: str) -> None:
    """A failed call keeps nothing: a retry with the same key runs again."""
    IdempotencyRecord.objects.filter(
        workspace_id=workspace_id, key=key, request_id=request_id, status=IdempotencyStatus.RUNNING
    ).delete()


def idempotency_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - idempotency_window()
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
