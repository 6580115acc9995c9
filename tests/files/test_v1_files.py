"""/v1/files with the official OpenAI SDK against the live ASGI server."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import httpx
import openai
import pytest
from django.utils import timezone

from files.models import File
from files.storage import blob_exists
from files.tasks import purge_expired
from tests.conftest import make_key
from tests.files import samples

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024


def upload(client: openai.OpenAI, data: bytes, name: str, purpose: str = "user_data", **kwargs):
    return client.files.create(file=(name, io.BytesIO(data)), purpose=purpose, **kwargs)


def test_create_retrieve_content_delete(client):
    data = "a line of text\nsecond line ✓\n".encode()
    created = upload(client, data, "notes.txt")
    assert created.id.startswith("file-") and created.object == "file"
    assert (created.bytes, created.filename, created.purpose, created.status) == (
        len(data),
        "notes.txt",
        "user_data",
        "processed",
    )
    assert created.expires_at is None and abs(created.created_at - time.time()) < 60

    assert client.files.retrieve(created.id).model_dump() == created.model_dump()
    assert client.files.content(created.id).read() == data

    row = File.objects.get(public_id=created.id)
    assert row.content_type == "text/plain" and len(row.sha256) == 64
    assert created.id not in row.storage_key and blob_exists(row.storage_key)

    deleted = client.files.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    assert not blob_exists(row.storage_key) and not File.objects.filter(public_id=created.id).exists()
    with pytest.raises(openai.NotFoundError) as caught:
        client.files.retrieve(created.id)
    assert created.id in caught.value.body["message"]


def test_api_v1_mount(junction, api_key):
    client = openai.OpenAI(api_key=api_key.secret, base_url=f"{junction.url}/api/v1", max_retries=0)
    created = upload(client, b"# Title\n\ntext\n", "readme.md")
    assert client.files.content(created.id).read() == b"# Title\n\ntext\n"


@pytest.mark.parametrize(
    ("data", "name", "purpose", "content_type"),
    [
        (samples.pdf(), "doc.pdf", "user_data", "application/pdf"),
        (samples.PNG, "pixel.bin", "vision", "image/png"),
        (samples.JPEG, "photo.jpg", "vision", "image/jpeg"),
        (samples.GIF, "anim.gif", "assistants", "image/gif"),
        (samples.WEBP, "x.webp", "user_data", "image/webp"),
        (b"a,b,c\n1,2,3\n4,5,6\n", "table.csv", "assistants", "text/csv"),
        (b'{"a": [1, 2]}', "data.json", "user_data", "application/json"),
        (b'{"custom_id": "1"}\n{"custom_id": "2"}\n', "batch.jsonl", "batch", "application/jsonl"),
        (b'{"item": 1}\n{"item": 2}\n', "set.jsonl", "evals", "application/jsonl"),
    ],
)
def test_types_are_sniffed_from_the_content(client, data, name, purpose, content_type):
    created = upload(client, data, name, purpose)
    assert File.objects.get(public_id=created.id).content_type == content_type
    assert client.files.content(created.id).read() == data


@pytest.mark.parametrize(
    ("data", "name", "purpose"),
    [
        (samples.ELF, "report.pdf", "user_data"),  # an executable named .pdf
        (samples.ELF, "photo.png", "vision"),
        (b"just text", "photo.png", "vision"),  # text is not an image
        (samples.pdf(), "batch.jsonl", "batch"),  # batch takes JSON Lines only
        (b"", "empty.txt", "user_data"),
        (b"\xff\xfe\x00t\x00e\x00x\x00t", "utf16.txt", "user_data"),
    ],
)
def test_content_the_purpose_does_not_allow_is_refused(client, data, name, purpose):
    with pytest.raises(openai.BadRequestError) as caught:
        upload(client, data, name, purpose)
    assert caught.value.status_code == 400 and caught.value.body["param"] == "file"
    assert File.objects.count() == 0


def test_bad_purpose_and_expiry_name_the_param(client):
    with pytest.raises(openai.BadRequestError) as caught:
        upload(client, b"text", "a.txt", "fine-tune")
    assert caught.value.body["param"] == "purpose"
    with pytest.raises(openai.BadRequestError) as caught:
        upload(client, b"text", "a.txt", expires_after={"anchor": "created_at", "seconds": 60})
    assert caught.value.body["param"] == "expires_after.seconds"


def test_expires_after_is_honoured_and_batch_defaults_to_30_days(client):
    created = upload(client, b"text", "a.txt", expires_after={"anchor": "created_at", "seconds": 7200})
    assert created.expires_at == created.created_at + 7200
    batch = upload(client, b'{"custom_id": "1"}\n', "b.jsonl", "batch")
    assert batch.expires_at == batch.created_at + 30 * 24 * 3600


def test_limit_is_25_mb(client):
    at_limit = upload(client, b"a" * (25 * MB), "big.txt")
    assert at_limit.bytes == 25 * MB
    with pytest.raises(openai.APIStatusError) as caught:
        upload(client, b"a" * (25 * MB + 1), "bigger.txt")
    assert caught.value.status_code == 413
    error = caught.value.body
    assert error["type"] == "request_too_large" and error["param"] == "file"
    assert str(25 * MB) in error["message"]
    assert File.objects.count() == 1


def test_limit_is_a_setting(client, settings):
    settings.FILES_MAX_BYTES = 1000
    upload(client, b"a" * 1000, "ok.txt")
    with pytest.raises(openai.APIStatusError) as caught:
        upload(client, b"a" * 1001, "no.txt")
    assert caught.value.status_code == 413


def test_pagination(client):
    ids = [upload(client, f"file {n}".encode(), f"f{n}.txt").id for n in range(5)]
    vision = upload(client, samples.PNG, "p.png", "vision").id

    page = client.files.list(limit=2)
    assert [f.id for f in page.data] == [vision, ids[4]] and page.has_more is True
    assert [f.id for f in client.files.list(limit=2)] == [vision, *ids[::-1]]  # auto-paging: all of them
    asc = client.files.list(order="asc", limit=4)
    assert [f.id for f in asc.data] == ids[:4] and asc.has_more is True
    after = client.files.list(order="asc", after=ids[3])
    assert [f.id for f in after.data] == [ids[4], vision] and after.has_more is False
    assert [f.id for f in client.files.list(purpose="vision").data] == [vision]
    raw = httpx.get(
        f"{client.base_url}files",
        params={"limit": 2},
        headers={"authorization": f"Bearer {client.api_key}"},
    ).json()
    assert (raw["object"], raw["first_id"], raw["last_id"]) == ("list", vision, ids[4])


@pytest.mark.parametrize(("param", "value"), [("limit", "0"), ("order", "up"), ("purpose", "nope")])
def test_bad_list_params_name_the_param(client, param, value):
    resp = httpx.get(
        f"{client.base_url}files",
        params={param: value},
        headers={"authorization": f"Bearer {client.api_key}"},
    )
    assert resp.status_code == 400 and resp.json()["error"]["param"] == param


def test_another_workspace_gets_404_for_every_operation(client, junction, other_workspace):
    secret_name = "sentinel-name-3141.txt"
    mine = upload(client, b"sentinel-bytes-2718", secret_name)
    theirs = openai.OpenAI(
        api_key=make_key(other_workspace).secret, base_url=f"{junction.url}/v1", max_retries=0
    )
    for call in (
        lambda: theirs.files.retrieve(mine.id),
        lambda: theirs.files.content(mine.id),
        lambda: theirs.files.delete(mine.id),
        lambda: theirs.get(f"/files/{mine.id}/url", cast_to=httpx.Response),
    ):
        with pytest.raises(openai.NotFoundError) as caught:
            call()
        assert "sentinel" not in str(caught.value.body)
    assert theirs.files.list().data == []
    assert client.files.content(mine.id).read() == b"sentinel-bytes-2718"  # still there


def test_a_key_is_required(junction):
    anonymous = httpx.post(
        f"{junction.url}/v1/files", files={"file": ("a.txt", b"x")}, data={"purpose": "user_data"}
    )
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "invalid_api_key"
    assert File.objects.count() == 0


def test_malformed_uploads(junction, api_key):
    auth = {"authorization": f"Bearer {api_key.secret}"}
    json_body = httpx.post(f"{junction.url}/v1/files", json={"purpose": "user_data"}, headers=auth)
    assert json_body.status_code == 400 and json_body.json()["error"]["param"] == "file"
    no_file = httpx.post(f"{junction.url}/v1/files", files={"purpose": (None, "user_data")}, headers=auth)
    assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
    extra = httpx.post(
        f"{junction.url}/v1/files",
        files={"file": ("a.txt", b"x")},
        data={"purpose": "user_data", "colour": "blue"},
        headers=auth,
    )
    assert extra.status_code == 400 and extra.json()["error"]["param"] == "colour"
    assert File.objects.count() == 0


def test_expired_file_is_gone_and_purged(client):
    created = upload(client, b"short-lived", "a.txt", expires_after={"anchor": "created_at", "seconds": 3600})
    row = File.objects.get(public_id=created.id)
    File.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    assert client.files.list().data == []

    # ``apply``: the task runs here, as the embedded (eager) default runs it; with
    # REDIS_URL set, ``delay`` would wait for a worker the test run does not start.
    assert purge_expired.apply().get() == 1
    assert not File.objects.filter(pk=row.pk).exists() and not blob_exists(row.storage_key)
