"""The stored-image service both image surfaces use (files.generated)."""

from __future__ import annotations

import httpx
import pytest

from files import signing
from files.generated import (
    NotAnImage,
    generated_image_store,
    generated_image_url,
    generated_images_get,
    generated_images_page,
    generated_images_set_cost,
)
from files.models import File, GeneratedImage
from files.storage import blob_chunks
from tests.factories import WorkspaceFactory
from tests.files import samples

pytestmark = pytest.mark.django_db(transaction=True)


def _store(workspace_id: int, data: bytes = samples.PNG, **kwargs):
    return generated_image_store(
        workspace_id=workspace_id,
        data=data,
        mime="image/png",
        prompt=kwargs.pop("prompt", "a red pixel"),
        model="gpt-image-1",
        request_id="req_1",
        source="images_api",
        **kwargs,
    )


def test_store_records_the_image_and_its_blob(workspace):
    image = _store(workspace.id, size="1024x1024", quality="low", provider="openai")
    assert image.public_id.startswith("img_") and image.workspace_id == workspace.id
    assert image.file.content_type == "image/png" and image.file.purpose == "vision"
    assert image.file.filename == f"{image.public_id}.png"
    assert b"".join(blob_chunks(image.file.storage_key)) == samples.PNG
    assert (image.size, image.quality, image.provider, image.source) == (
        "1024x1024",
        "low",
        "openai",
        "images_api",
    )


def test_type_is_sniffed_not_claimed(workspace):
    image = _store(workspace.id, data=samples.JPEG)  # the upstream said png
    assert image.file.content_type == "image/jpeg" and image.file.filename.endswith(".jpeg")


def test_bytes_that_are_not_an_image_are_refused_and_nothing_is_stored(workspace):
    with pytest.raises(NotAnImage):
        _store(workspace.id, data=b"<html>oops</html>")
    assert not File.objects.exists() and not GeneratedImage.objects.exists()


def test_prompt_is_bounded(workspace):
    image = _store(workspace.id, prompt="x" * 10_000)
    assert len(image.prompt) == GeneratedImage.PROMPT_MAX


def test_cost_split_over_images(workspace):
    images = [_store(workspace.id) for _ in range(3)]
    generated_images_set_cost(image_ids=[i.pk for i in images], total_units=10)
    assert sorted(GeneratedImage.objects.values_list("cost_units", flat=True)) == [3, 3, 4]


def test_signed_url_serves_the_bytes_without_auth(workspace, junction):
    image = _store(workspace.id)
    signed = generated_image_url(image=image, base_url=junction.url)
    resp = httpx.get(signed.url)
    assert resp.status_code == 200 and resp.content == samples.PNG
    tampered = signed.url.replace("signature=", "signature=0")
    assert httpx.get(tampered).status_code == 403
    expired = f"{junction.url}{signing.signed_path(image.file.public_id, 1)}"
    assert httpx.get(expired).status_code == 403


def test_pages_and_gets_are_workspace_scoped(workspace):
    other = WorkspaceFactory()
    mine = [_store(workspace.id) for _ in range(3)]
    theirs = _store(other.id)
    page = generated_images_page(workspace_id=workspace.id, per_page=2)
    assert [i.public_id for i in page.images] == [mine[2].public_id, mine[1].public_id] and page.has_more
    second = generated_images_page(workspace_id=workspace.id, page=2, per_page=2)
    assert [i.public_id for i in second.images] == [mine[0].public_id] and not second.has_more
    got = generated_images_get(workspace_id=workspace.id, public_ids=[theirs.public_id, mine[0].public_id])
    assert [i.public_id for i in got] == [mine[0].public_id]
