"""Files sent to upstreams by reference (files/upstream.py): uploaded once to
OpenAI's files API or Gemini's Files API, the upstream id cached and reused,
re-uploaded when the upstream forgot it. The fakes speak the real wire
formats and record the exact bytes they received."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta

import openai
import pytest
from django.utils import timezone

from billing.services import credits_grant
from files.models import File, UpstreamFile
from files.upstream import account_fingerprint, gemini_upload_url
from gateway.catalog.snapshot import Credentials
from tests.conftest import TEST_FUNDS_UNITS, make_key
from tests.files import samples
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

PDF = samples.pdf("Quarterly numbers, uploaded once")


@pytest.fixture
def by_reference(settings):
    """Every document goes to OpenAI by reference; Gemini's inline limit is tiny."""
    settings.FILES_UPSTREAM_MIN_BYTES = 1
    settings.FILES_GEMINI_INLINE_MAX_BYTES = 200


def upload(client, data: bytes, name: str, purpose: str = "user_data") -> str:
    return client.files.create(file=(name, io.BytesIO(data)), purpose=purpose).id


def ask(client, model: str, *parts: dict):
    return client.responses.create(
        model=model,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "What is in it?"}, *parts]}],
    )


# ------------------------------------------------------------------ OpenAI


def test_openai_upload_once_then_by_id(client, fake_openai, by_reference):
    file_id = upload(client, PDF, "q3.pdf")
    first = ask(client, "gpt-4o-mini", {"type": "input_file", "file_id": file_id})

    (sent,) = fake_openai.files.uploads
    assert sent.path == "/v1/files" and sent.data == PDF  # the exact bytes, once
    assert (sent.filename, sent.content_type) == ("q3.pdf", "application/pdf")
    assert sent.fields == {
        "purpose": "user_data",
        "expires_after[anchor]": "created_at",
        "expires_after[seconds]": str(7 * 24 * 3600),
    }
    assert sent.headers["authorization"] == "Bearer sk-platform-test"
    (upstream_id,) = fake_openai.files.held
    part = fake_openai.requests[-1].body["input"][0]["content"][1]
    assert part == {"type": "input_file", "file_id": upstream_id}  # no inline bytes
    assert file_id not in json.dumps(fake_openai.requests[-1].body)

    second = ask(client, "gpt-4o-mini", {"type": "input_file", "file_id": file_id})
    assert len(fake_openai.files.uploads) == 1  # the cache hit: no second upload
    assert fake_openai.requests[-1].body["input"][0]["content"][1] == part

    row = UpstreamFile.objects.get()
    assert (row.file.public_id, row.provider, row.upstream_id) == (file_id, "openai", upstream_id)
    assert "sk-platform-test" not in row.account and len(row.account) == 64
    assert timedelta(days=6) < row.expires_at - timezone.now() <= timedelta(days=7)
    logs = {
        r.request_id: r.extra
        for r in wait_for_logs(3)
        if r.request_id in (first.model_extra["x_request_id"], second.model_extra["x_request_id"])
    }
    assert logs[first.model_extra["x_request_id"]]["files_upstream"] == {"uploaded": 1, "reused": 0}
    assert logs[second.model_extra["x_request_id"]]["files_upstream"] == {"uploaded": 0, "reused": 1}


def test_openai_chat_file_part_by_upstream_id(client, fake_openai, by_reference):
    """A chat completions call (translated to OpenAI's Responses upstream) names the upstream id too."""
    file_id = upload(client, PDF, "q3.pdf")
    content = [{"type": "text", "text": "Summarise"}, {"type": "file", "file": {"file_id": file_id}}]
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}])
    (upstream_id,) = fake_openai.files.held
    assert len(fake_openai.requests) == 2 and len(fake_openai.files.uploads) == 1
    for request in fake_openai.requests:
        assert f'"file_id": "{upstream_id}"' in json.dumps(request.body)
        assert "base64" not in json.dumps(request.body) and file_id not in json.dumps(request.body)


def test_openai_forgot_the_id_reuploads_once(client, fake_openai, by_reference):
    file_id = upload(client, PDF, "q3.pdf")
    ask(client, "gpt-4o-mini", {"type": "input_file", "file_id": file_id})
    (old_id,) = fake_openai.files.held
    fake_openai.files.forget()  # the upstream copy expired or was deleted

    answer = ask(client, "gpt-4o-mini", {"type": "input_file", "file_id": file_id})
    assert answer.output_text  # the caller never saw the upstream's 404
    assert len(fake_openai.files.uploads) == 2 and fake_openai.files.uploads[1].data == PDF
    (new_id,) = fake_openai.files.held
    responses = [r for r in fake_openai.requests if r.path.endswith("/responses")]
    assert [r.body["input"][0]["content"][1]["file_id"] for r in responses] == [old_id, old_id, new_id]
    assert UpstreamFile.objects.get().upstream_id == new_id


def test_openai_forgetting_twice_is_the_upstreams_error(client, fake_openai, by_reference, monkeypatch):
    """One re-upload per call: an upstream that keeps forgetting gets no loop."""
    file_id = upload(client, PDF, "q3.pdf")
    original = fake_openai.files.upload

    async def upload_then_forget(scope, receive, send):
        await original(scope, receive, send)
        fake_openai.files.forget()

    monkeypatch.setattr(fake_openai.files, "upload", upload_then_forget)

    with pytest.raises(openai.APIStatusError) as caught:
        ask(client, "gpt-4o-mini", {"type": "input_file", "file_id": file_id})
    assert caught.value.status_code == 502 and "No such File object" in caught.value.message
    assert len(fake_openai.files.uploads) == 2


def test_small_files_and_images_stay_inline(client, fake_openai, settings):
    settings.FILES_UPSTREAM_MIN_BYTES = len(PDF) + 1
    pdf_id, png_id = upload(client, PDF, "q3.pdf"), upload(client, samples.PNG, "p.png", "vision")
    ask(
        client,
        "gpt-4o-mini",
        {"type": "input_file", "file_id": pdf_id},
        {"type": "input_image", "file_id": png_id},
    )
    assert fake_openai.files.uploads == []
    parts = fake_openai.requests[-1].body["input"][0]["content"]
    assert parts[1]["file_data"] == f"data:application/pdf;base64,{base64.b64encode(PDF).decode()}"
    assert parts[2]["image_url"].startswith("data:image/png;base64,")


def test_failed_upload_falls_back_to_inline(client, fake_openai, by_reference):
    fake_openai.files.fail = True
    file_id = upload(client, PDF, "q3.pdf")
    assert ask(client, "gpt-4o-mini", {"type": "input_file", "file_id": file_id}).output_text
    part = fake_openai.requests[-1].body["input"][0]["content"][1]
    assert part["file_data"].startswith("data:application/pdf;base64,") and "file_id" not in part
    assert not UpstreamFile.objects.exists()


def test_workspaces_never_share_upstream_copies(client, junction, other_workspace, fake_openai, by_reference):
    credits_grant(workspace_id=other_workspace.pk, units=TEST_FUNDS_UNITS, reason="test funds")
    theirs = openai.OpenAI(
        api_key=make_key(other_workspace).secret, base_url=f"{junction.url}/v1", max_retries=0
    )
    mine_id, their_id = upload(client, PDF, "q3.pdf"), upload(theirs, PDF, "q3.pdf")
    ask(client, "gpt-4o-mini", {"type": "input_file", "file_id": mine_id})
    ask(theirs, "gpt-4o-mini", {"type": "input_file", "file_id": their_id})
    assert len(fake_openai.files.uploads) == 2  # same bytes, each workspace's own copy
    rows = {r.file.workspace_id: r.upstream_id for r in UpstreamFile.objects.select_related("file")}
    assert len(set(rows.values())) == 2
    # Another workspace's Junction id still never resolves, cached upstream copy or not.
    with pytest.raises(openai.NotFoundError):
        ask(theirs, "gpt-4o-mini", {"type": "input_file", "file_id": mine_id})
    # Deleting the file drops its cached upstream ids.
    client.files.delete(mine_id)
    assert list(UpstreamFile.objects.values_list("file__public_id", flat=True)) == [their_id]


def test_account_fingerprint_is_per_key_and_never_the_key():
    one = account_fingerprint(
        kind="openai", credentials=Credentials(api_key="sk-one", base_url="https://a/v1")
    )
    two = account_fingerprint(
        kind="openai", credentials=Credentials(api_key="sk-two", base_url="https://a/v1")
    )
    other_host = account_fingerprint(
        kind="openai", credentials=Credentials(api_key="sk-one", base_url="https://b/v1")
    )
    assert len({one, two, other_host}) == 3 and "sk-one" not in one


# ------------------------------------------------------------------ Gemini


def test_gemini_files_api_above_the_inline_limit(client, fake_gemini, by_reference):
    pdf_id = upload(client, PDF, "q3.pdf")
    ask(client, "gemini-2.5-flash", {"type": "input_file", "file_id": pdf_id})

    (start,) = fake_gemini.files.starts
    assert start["body"] == {"file": {"display_name": "q3.pdf"}}
    assert start["headers"]["x-goog-upload-protocol"] == "resumable"
    assert start["headers"]["x-goog-upload-header-content-length"] == str(len(PDF))
    assert start["headers"]["x-goog-upload-header-content-type"] == "application/pdf"
    assert start["headers"]["x-goog-api-key"] == "gemini-platform-test"
    (sent,) = fake_gemini.files.uploads
    assert sent.data == PDF and sent.headers["x-goog-upload-command"] == "upload, finalize"
    (name,) = fake_gemini.files.held
    parts = fake_gemini.requests[-1].body["contents"][0]["parts"]
    uri = parts[1]["fileData"]["fileUri"]
    assert parts[1] == {"fileData": {"mimeType": "application/pdf", "fileUri": uri}} and uri.endswith(name)

    ask(client, "gemini-2.5-flash", {"type": "input_file", "file_id": pdf_id})
    assert len(fake_gemini.files.uploads) == 1  # cached
    assert fake_gemini.requests[-1].body["contents"][0]["parts"][1] == parts[1]
    row = UpstreamFile.objects.get()
    assert (row.provider, row.upstream_id, row.uri) == ("gemini", name, uri)
    assert timedelta(hours=47) < row.expires_at - timezone.now() <= timedelta(hours=48)


def test_gemini_uploads_the_largest_until_the_rest_fits(client, fake_gemini, settings):
    big, small = samples.pdf("x" * 2000), samples.pdf("y")
    settings.FILES_GEMINI_INLINE_MAX_BYTES = len(big)  # one of the two must go by reference
    big_id, small_id = upload(client, big, "big.pdf"), upload(client, small, "small.pdf")
    ask(
        client,
        "gemini-2.5-flash",
        {"type": "input_file", "file_id": small_id},
        {"type": "input_file", "file_id": big_id},
    )
    assert [u.data for u in fake_gemini.files.uploads] == [big]
    parts = fake_gemini.requests[-1].body["contents"][0]["parts"]
    assert parts[1] == {
        "inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(small).decode()}
    }
    assert "fileData" in parts[2]


def test_gemini_forgot_the_file_reuploads_once(client, fake_gemini, by_reference):
    pdf_id = upload(client, PDF, "q3.pdf")
    ask(client, "gemini-2.5-flash", {"type": "input_file", "file_id": pdf_id})
    fake_gemini.files.forget()  # 48 hours later
    answer = ask(client, "gemini-2.5-flash", {"type": "input_file", "file_id": pdf_id})
    assert answer.output_text
    assert len(fake_gemini.files.uploads) == 2
    (name,) = fake_gemini.files.held
    assert fake_gemini.requests[-1].body["contents"][0]["parts"][1]["fileData"]["fileUri"].endswith(name)


def test_gemini_images_go_by_uri_with_their_type(client, fake_gemini, by_reference, settings):
    settings.FILES_GEMINI_INLINE_MAX_BYTES = 10
    png_id = upload(client, samples.PNG, "p.png", "vision")
    ask(client, "gemini-2.5-flash", {"type": "input_image", "file_id": png_id})
    part = fake_gemini.requests[-1].body["contents"][0]["parts"][1]
    assert part["fileData"]["mimeType"] == "image/png"
    assert fake_gemini.files.uploads[0].data == samples.PNG


def test_gemini_upload_url():
    assert gemini_upload_url("https://generativelanguage.googleapis.com/v1beta") == (
        "https://generativelanguage.googleapis.com/upload/v1beta/files"
    )


def test_other_upstreams_are_untouched(client, fake_anthropic, by_reference):
    file_id = upload(client, PDF, "q3.pdf")
    client.responses.create(
        model="claude-haiku-4-5",
        input=[
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "Hi"}, {"type": "input_file", "file_id": file_id}],
            }
        ],
    )
    assert not UpstreamFile.objects.exists()
    assert File.objects.filter(public_id=file_id).exists()


def test_gemini_counts_the_callers_inline_content_in_other_turns(client, fake_gemini, settings):
    """The limit is on the whole request: inline bytes in an earlier turn push a file by id out."""
    inline = f"data:application/pdf;base64,{base64.b64encode(PDF).decode()}"
    settings.FILES_GEMINI_INLINE_MAX_BYTES = len(inline) + 10
    small_id = upload(client, samples.pdf("y"), "small.pdf")
    client.responses.create(
        model="gemini-2.5-flash",
        input=[
            {"role": "user", "content": [{"type": "input_file", "file_data": inline, "filename": "a.pdf"}]},
            {"role": "assistant", "content": "Read it."},
            {"role": "user", "content": [{"type": "input_file", "file_id": small_id}]},
        ],
    )
    assert [u.data for u in fake_gemini.files.uploads] == [samples.pdf("y")]
    contents = fake_gemini.requests[-1].body["contents"]
    assert "inlineData" in contents[0]["parts"][0] and "fileData" in contents[-1]["parts"][0]
