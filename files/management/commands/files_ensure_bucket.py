"""Create the S3 bucket for blobs when it does not exist (MinIO in compose).
Does nothing on local storage."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from django.core.management.base import BaseCommand

from files.storage import blob_storage, is_s3


class Command(BaseCommand):
    help = "Create the S3 bucket that holds file blobs, if it is missing."

    def handle(self, *args: Any, **options: Any) -> None:
        storage = blob_storage()
        if not is_s3(storage):
            self.stdout.write("Local file storage: nothing to create.")
            return
        bucket = storage.bucket  # type: ignore[attr-defined]
        client = storage.connection.meta.client  # type: ignore[attr-defined]
        try:
            client.head_bucket(Bucket=bucket.name)
            self.stdout.write(f"Bucket '{bucket.name}' exists.")
        except ClientError:
            client.create_bucket(Bucket=bucket.name)
            self.stdout.write(f"Bucket '{bucket.name}' created.")
