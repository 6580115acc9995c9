"""Celery tasks of the files app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from files.image_jobs import image_jobs_purge
from files.services import files_purge
from gateway.images_job import run_job


@shared_task(name="files.purge_expired")
def purge_expired() -> int:
    """Delete expired (and half-deleted) files and their blobs. Idempotent."""
    return files_purge()


@shared_task(name="files.run_image_job", acks_late=True)
def run_image_job(job_id: str, payload: dict[str, Any]) -> str:
    """One images API call (``gateway.images_job``): claims the job, so a
    redelivered task does not run (or charge) twice."""
    return run_job(job_id=job_id, payload=payload)


@shared_task(name="files.purge_image_jobs")
def purge_image_jobs() -> int:
    """Drop image jobs older than ``IMAGES_JOB_TTL`` (their images stay)."""
    return image_jobs_purge()
