"""Signed blob URLs: valid, expired, tampered, another file's signature."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from files import signing
from tests.files import samples

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_files(client):
    first = client.files.create(file=("pixel.png", io.BytesIO(samples.PNG)), purpose="vision")
    second = client.files.create(file=("doc.pdf", io.BytesIO(samples.pdf())), purpose="user_data")
    return first, second


def signed_url(client, file_id: str) -> dict:
    resp = httpx.get(
        f"{client.base_url}files/{file_id}/url", headers={"authorization": f"Bearer {client.api_key}"}
    )
    assert resp.status_code == 200
    return resp.json()


def test_valid_link_serves_the_exact_bytes_without_auth(client, two_files):
    png, pdf = two_files
    link = signed_url(client, png.id)
    assert link["object"] == "file.url" and link["expires_at"] > time.time()
    resp = httpx.get(link["url"])  # no authorization header
    assert resp.status_code == 200 and resp.content == samples.PNG
    assert resp.headers["content-type"] == "image/png"
    assert resp.headers["content-disposition"].startswith("inline")
    assert resp.headers["x-content-type-options"] == "nosniff"
    doc = httpx.get(signed_url(client, pdf.id)["url"])
    assert doc.content == samples.pdf() and doc.headers["content-disposition"].startswith("attachment")


def _parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return f"{split.scheme}://{split.netloc}{split.path}", query["expires"][0], query["signature"][0]


def test_expired_link_is_403(client, two_files, junction):
    png, _ = two_files
    past = int(time.time()) - 1
    resp = httpx.get(f"{junction.url}{signing.signed_path(png.id, past)}")
    assert resp.status_code == 403 and resp.json()["error"]["type"] == "permission_error"
    assert signing.verify(png.id, str(past + 60), signing.sign(png.id, past + 60), now=past + 61) is False


def test_tampered_link_is_403(client, two_files):
    png, _ = two_files
    base, expires, signature = _parts(signed_url(client, png.id)["url"])
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    for params in (
        {"expires": expires, "signature": flipped},
        {"expires": str(int(expires) + 3600), "signature": signature},  # a longer life
        {"expires": expires},
        {},
    ):
        resp = httpx.get(base, params=params)
        assert resp.status_code == 403, params
        assert samples.PNG not in resp.content


def test_another_files_signature_is_403(client, two_files, junction):
    png, pdf = two_files
    _, expires, signature = _parts(signed_url(client, png.id)["url"])
    resp = httpx.get(
        f"{junction.url}/v1/files/{pdf.id}/blob", params={"expires": expires, "signature": signature}
    )
    assert resp.status_code == 403


def test_deleted_files_link_is_404(client, two_files):
    png, _ = two_files
    url = signed_url(client, png.id)["url"]
    client.files.delete(png.id)
    resp = httpx.get(url)
    assert resp.status_code == 404 and png.id in resp.json()["error"]["message"]
