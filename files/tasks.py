"""Celery tasks of the files app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from files.services import files_purge


@shared_task(name="files.purge_expired")
def purge_expired() -> int:
    """Delete expired (and half-deleted) files and their blobs. Idempotent."""
    return files_purge()
