"""The same storage, on a real S3-compatible server: moto in server mode,
started by the test run in its own process. Runs in the PostgreSQL + Redis
pass of .ci/run (DATABASE_URL set); the embedded pass uses the local disk.

moto does not check presigned signatures or their expiry (it answers any
GET), so tampered and expired links are tested on Junction's own signed URLs
(test_signed_urls.py); here the presigned link must carry the signature and
lifetime and serve the exact bytes."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import openai
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from django.core.management import call_command

from files.models import File
from files.services import file_create_from_bytes, files_purge
from files.storage import blob_chunks, blob_delete, blob_exists, blob_storage, is_s3
from tests.files import samples

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL"), reason="S3 tests run in the PostgreSQL + Redis pass"
    ),
]

BUCKET = "junction-test-files"
CREDENTIALS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
    if server is None:
        pytest.skip("moto[server] is not installed (pip install -e '.[dev]')")
    port = _free_port()
    proc = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS).create_bucket(
        Bucket=BUCKET
    )
    yield endpoint
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def s3(s3_endpoint, settings):
    """Blob storage switched to the S3 server, as S3_BUCKET would do."""
    settings.STORAGES = {
        **settings.STORAGES,
        "files": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
                "signature_version": "s3v4",
                "addressing_style": "path",
                "file_overwrite": False,
                "transfer_config": TransferConfig(use_threads=False),
            },
        },
    }
    assert is_s3(blob_storage())
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **CREDENTIALS)


def _object(s3, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except ClientError:
        return None


def test_storage_round_trip(s3, workspace):
    data = os.urandom(3 * MB)
    file = file_create_from_bytes(
        workspace_id=workspace.pk, purpose="user_data", filename="r.bin", data=data, content_type="image/png"
    )
    assert _object(s3, file.storage_key) == data and blob_exists(file.storage_key)
    assert b"".join(blob_chunks(file.storage_key, chunk_bytes=MB)) == data
    blob_delete(file.storage_key)
    assert _object(s3, file.storage_key) is None and not blob_exists(file.storage_key)


def test_sdk_flow_on_s3(s3, client):
    data = samples.pdf() + os.urandom(9 * MB)  # past the S3 multipart threshold (8 MB)
    created = client.files.create(file=("big.pdf", io.BytesIO(data)), purpose="user_data")
    row = File.objects.get(public_id=created.id)
    assert _object(s3, row.storage_key) == data
    assert client.files.content(created.id).read() == data
    client.files.delete(created.id)
    assert _object(s3, row.storage_key) is None
    with pytest.raises(openai.NotFoundError):
        client.files.content(created.id)


def test_presigned_link_on_s3(s3, client, settings):
    created = client.files.create(file=("pixel.png", io.BytesIO(samples.PNG)), purpose="vision")
    link = httpx.get(
        f"{client.base_url}files/{created.id}/url", headers={"authorization": f"Bearer {client.api_key}"}
    ).json()
    query = parse_qs(urlsplit(link["url"]).query)
    assert query["X-Amz-Expires"] == [str(settings.FILES_URL_TTL)] and query["X-Amz-Signature"][0]
    assert File.objects.get(public_id=created.id).storage_key in urlsplit(link["url"]).path
    resp = httpx.get(link["url"])  # no Junction key
    assert resp.status_code == 200 and resp.content == samples.PNG
    assert resp.headers["content-type"] == "image/png"


def test_purge_removes_s3_objects(s3, workspace):
    file = file_create_from_bytes(
        workspace_id=workspace.pk,
        purpose="user_data",
        filename="a.txt",
        data=b"bye",
        content_type="text/plain",
    )
    File.objects.filter(pk=file.pk).update(expires_at=file.created_at)
    assert files_purge() == 1
    assert _object(s3, file.storage_key) is None and not File.objects.filter(pk=file.pk).exists()


def test_ensure_bucket_creates_a_missing_bucket(s3, settings):
    options = {**settings.STORAGES["files"]["OPTIONS"], "bucket_name": "junction-test-new-bucket"}
    settings.STORAGES = {**settings.STORAGES, "files": {**settings.STORAGES["files"], "OPTIONS": options}}
    out = io.StringIO()
    call_command("files_ensure_bucket", stdout=out)
    assert "created" in out.getvalue()
    s3.head_bucket(Bucket="junction-test-new-bucket")
    call_command("files_ensure_bucket", stdout=out)
    assert "exists" in out.getvalue()
