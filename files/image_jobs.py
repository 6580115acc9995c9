"""Image jobs: one row per images API call, run as a Celery task.

The HTTP call creates the job and waits for its result on the channel layer
(group ``image_job_group(job_id)``: ``InMemoryChannelLayer`` in the embedded
default, Redis in production); the task publishes each streamed event and
the final result there. The row keeps the result for ``IMAGES_JOB_TTL``
seconds so a client that timed out (504 with the job id) reads it from
``GET /v1/images/jobs/{id}``.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from files.models import ImageJob, ImageJobStatus


def new_job_id() -> str:
    ms = int(time.time() * 1000)
    return f"imgjob_{ms:012x}{secrets.token_hex(8)}"


def image_job_group(job_id: str) -> str:
    """The channel-layer group a job publishes to (names allow [a-zA-Z0-9_.-])."""
    return f"images.job.{job_id}"


def image_job_create(*, workspace_id: int, request_id: str, operation: str, response_format: str) -> ImageJob:
    return ImageJob.objects.create(
        public_id=new_job_id(),
        workspace_id=workspace_id,
        request_id=request_id,
        operation=operation,
        response_format=response_format,
        created_at=timezone.now(),
    )


@transaction.atomic
def image_job_start(*, job_id: str) -> bool:
    """Claim a queued job for running; False when it already ran (a task
    delivered twice runs once: the charge happens once)."""
    claimed = ImageJob.objects.filter(public_id=job_id, status=ImageJobStatus.QUEUED).update(
        status=ImageJobStatus.RUNNING
    )
    return claimed == 1


def image_job_finish(
    *,
    job_id: str,
    result: dict[str, Any] | None,
    error: dict[str, Any] | None = None,
    error_status: int | None = None,
) -> None:
    ImageJob.objects.filter(public_id=job_id).update(
        status=ImageJobStatus.FAILED if error is not None else ImageJobStatus.SUCCEEDED,
        result=result,
        error=error,
        error_status=error_status,
        finished_at=timezone.now(),
    )


def image_jobs_purge(*, now: Any = None) -> int:
    """Drop jobs older than ``IMAGES_JOB_TTL`` (their images stay)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.IMAGES_JOB_TTL)
    deleted, _ = ImageJob.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def image_job_get(*, workspace_id: int, job_id: str) -> ImageJob | None:
    """The workspace's job younger than ``IMAGES_JOB_TTL``, else None (another
    workspace's job is the same as an unknown one)."""
    cutoff = timezone.now() - timedelta(seconds=settings.IMAGES_JOB_TTL)
    return ImageJob.objects.filter(
        public_id=job_id, workspace_id=workspace_id, created_at__gte=cutoff
    ).first()
