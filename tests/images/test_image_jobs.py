"""Image jobs: a client that leaves loses nothing it pays for; a slow job is a
504 naming the job, whose result stays readable (to its workspace only);
streamed partial images."""

from __future__ import annotations

import base64
import json
import socket
import time

import httpx
import openai
import pytest

from billing.book.credit_book import book
from billing.models import LedgerEntry
from files.models import GeneratedImage, ImageJob
from tests.conftest import make_key
from tests.factories import MembershipFactory
from tests.fakes.openai_images import image_bytes
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)


def wait_job(status: str = "succeeded", timeout: float = 15.0) -> ImageJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ImageJob.objects.order_by("-id").first()
        if job is not None and job.status == status:
            return job
        time.sleep(0.05)
    job = ImageJob.objects.order_by("-id").first()
    raise AssertionError(f"no job reached {status}: {job and (job.status, job.error)}")


def test_client_that_disconnects_still_gets_its_image_stored_and_charged_once(client, fake_openai, junction):
    body = json.dumps({"model": "gpt-image-1", "prompt": "[[hold]] a slow fox"}).encode()
    host, port = junction.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/images/generations HTTP/1.1\r\nhost: junction\r\ncontent-type: application/json\r\n"
            + f"authorization: Bearer {client.api_key}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        deadline = time.monotonic() + 10
        while not fake_openai.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake_openai.requests  # the upstream is working on it: now the client leaves
    fake_openai.images.release.set()  # the upstream answers after the client left
    job = wait_job()
    (image,) = GeneratedImage.objects.filter(request_id=job.request_id)
    book.settled(timeout=5)
    (charge,) = LedgerEntry.objects.filter(kind="charge", request_id=job.request_id)
    assert -charge.amount_units == image.cost_units > 0
    (log,) = wait_for_logs(request_id=job.request_id)
    assert log.status_code == 200 and log.charged_units == image.cost_units
    assert fake_openai.images.answered == 1


def test_slow_job_is_504_with_its_id_then_readable_for_its_workspace(client, fake_openai, settings, junction):
    settings.IMAGES_JOB_TIMEOUT = 0.5
    resp = httpx.post(
        f"{client.base_url}images/generations",
        json={"model": "gpt-image-1", "prompt": "[[hold]] a slow fox", "response_format": "b64_json"},
        headers={"authorization": f"Bearer {client.api_key}"},
        timeout=10,
    )
    assert resp.status_code == 504
    job_id = resp.json()["job_id"]
    assert resp.json()["error"]["code"] == "image_job_timeout" and job_id in resp.json()["error"]["message"]
    assert resp.headers["x-junction-job-id"] == job_id
    running = client.get(f"/images/jobs/{job_id}", cast_to=httpx.Response)
    assert running.json()["status"] in ("queued", "running")
    fake_openai.images.release.set()
    wait_job()
    done = client.get(f"/images/jobs/{job_id}", cast_to=httpx.Response).json()
    assert done["status"] == "succeeded" and done["id"] == job_id
    assert base64.b64decode(done["result"]["data"][0]["b64_json"]) == image_bytes(0)
    assert done["result"]["cost"] > 0
    # another workspace: the same 404 as an unknown id, nothing of the job in it
    stranger = make_key(MembershipFactory().workspace)
    other = openai.OpenAI(api_key=stranger.secret, base_url=str(client.base_url), max_retries=0)
    for job in (job_id, "imgjob_unknown"):
        with pytest.raises(openai.NotFoundError) as caught:
            other.get(f"/images/jobs/{job}", cast_to=httpx.Response)
        assert "b64_json" not in str(caught.value.body)


def test_stream_passes_partial_images_through(client, fake_openai):
    stream = client.images.generate(model="gpt-image-1", prompt="a fox", stream=True, partial_images=2)
    events = list(stream)
    assert [e.type for e in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert [e.partial_image_index for e in events[:2]] == [0, 1]
    assert base64.b64decode(events[0].b64_json) == image_bytes(100)
    done = events[-1]
    assert base64.b64decode(done.b64_json) == image_bytes(0) and done.usage.input_tokens == 50
    extra = done.model_extra or {}
    assert httpx.get(extra["url"]).content == image_bytes(0)
    assert extra["cost"] > 0 and extra["x_request_id"].startswith("req_")
    assert fake_openai.requests[-1].body["stream"] is True
    assert fake_openai.requests[-1].body["partial_images"] == 2


def test_edit_stream_events(client, fake_openai):
    import io

    from tests.files import samples

    stream = client.images.edit(
        model="gpt-image-1",
        prompt="a hat",
        image=("a.png", io.BytesIO(samples.PNG)),
        stream=True,
        partial_images=1,
    )
    assert [e.type for e in stream] == ["image_edit.partial_image", "image_edit.completed"]


def test_stream_error_event(client, fake_openai):
    stream = client.images.generate(model="gpt-image-1", prompt="[[500]]", stream=True, partial_images=1)
    with pytest.raises(openai.APIError):
        list(stream)
