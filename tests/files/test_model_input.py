"""Files as model input: by id, inline and by URL, over each provider fake,
checking the exact bytes and shape each upstream received."""

from __future__ import annotations

import base64
import io
import json

import openai
import pytest

from firewall.rules import RuleData
from firewall.services import Actor, policy_create
from tests.conftest import make_key
from tests.files import samples
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

PDF = samples.pdf("Quarterly numbers")
PDF_B64 = base64.b64encode(PDF).decode()
PNG_B64 = base64.b64encode(samples.PNG).decode()


def upload(client, data: bytes, name: str, purpose: str = "user_data") -> str:
    return client.files.create(file=(name, io.BytesIO(data)), purpose=purpose).id


@pytest.fixture
def fake_mistral(fake_openai, fake_openai_server, settings):
    """The fake OpenAI server standing in for an OpenAI-compatible provider (mistral)."""
    _, server = fake_openai_server
    creds = {slug: dict(v) for slug, v in settings.PROVIDER_CREDENTIALS.items()}
    creds["mistral"] = {"api_key": "mistral-test", "base_url": f"{server.url}/v1"}
    settings.PROVIDER_CREDENTIALS = creds
    return fake_openai


def responses_input(*parts: dict) -> list[dict]:
    return [{"role": "user", "content": [{"type": "input_text", "text": "What is in it?"}, *parts]}]


# ------------------------------------------------------------------ OpenAI


def test_input_file_by_id_over_openai(client, fake_openai):
    file_id = upload(client, PDF, "q3.pdf")
    client.responses.create(
        model="gpt-4o-mini", input=responses_input({"type": "input_file", "file_id": file_id})
    )
    (sent,) = fake_openai.requests
    part = sent.body["input"][0]["content"][1]
    assert part == {
        "type": "input_file",
        "file_data": f"data:application/pdf;base64,{PDF_B64}",
        "filename": "q3.pdf",
    }
    assert file_id not in json.dumps(sent.body)  # Junction's ids never go upstream


def test_input_file_inline_and_by_url_over_openai(client, fake_openai):
    client.responses.create(
        model="gpt-4o-mini",
        input=responses_input(
            {
                "type": "input_file",
                "file_data": f"data:application/pdf;base64,{PDF_B64}",
                "filename": "a.pdf",
            },
            {"type": "input_file", "file_url": "https://example.com/report.pdf"},
        ),
    )
    parts = fake_openai.requests[-1].body["input"][0]["content"]
    assert parts[1]["file_data"] == f"data:application/pdf;base64,{PDF_B64}"
    assert parts[2] == {"type": "input_file", "file_url": "https://example.com/report.pdf"}


def test_chat_file_and_image_parts_by_id_over_openai(client, fake_openai):
    pdf_id, png_id = upload(client, PDF, "q3.pdf"), upload(client, samples.PNG, "p.png", "vision")
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Read these"},
                    {"type": "file", "file": {"file_id": pdf_id}},
                    {"type": "file", "file": {"file_id": png_id}},
                ],
            }
        ],
    )
    sent = fake_openai.requests[-1]  # translated: OpenAI is reached over its Responses wire
    content = sent.body["input"][0]["content"]
    assert sent.path == "/v1/responses"
    pdf_part = {
        "type": "input_file",
        "file_data": f"data:application/pdf;base64,{PDF_B64}",
        "filename": "q3.pdf",
    }
    assert content[1] == pdf_part
    assert content[2] == {
        "type": "input_image",
        "image_url": f"data:image/png;base64,{PNG_B64}",
        "detail": "auto",
    }


# --------------------------------------------------------------- Anthropic


def test_input_file_and_image_by_id_over_anthropic(client, fake_anthropic):
    pdf_id, png_id = upload(client, PDF, "q3.pdf"), upload(client, samples.PNG, "p.png", "vision")
    client.responses.create(
        model="claude-haiku-4-5",
        input=responses_input(
            {"type": "input_file", "file_id": pdf_id},
            {"type": "input_image", "file_id": png_id, "detail": "auto"},
        ),
    )
    blocks = fake_anthropic.requests[-1].body["messages"][0]["content"]
    assert blocks[1] == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
        "title": "q3.pdf",
    }
    assert blocks[2] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
    }


def test_anthropic_sdk_file_sources(claude, client, fake_anthropic):
    pdf_id, png_id = upload(client, PDF, "q3.pdf"), upload(client, samples.PNG, "p.png", "vision")
    claude.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "file", "file_id": pdf_id}},
                    {"type": "image", "source": {"type": "file", "file_id": png_id}},
                    {"type": "text", "text": "Summarise"},
                ],
            }
        ],
    )
    blocks = fake_anthropic.requests[-1].body["messages"][0]["content"]
    assert blocks[0]["source"] == {"type": "base64", "media_type": "application/pdf", "data": PDF_B64}
    assert blocks[1]["source"] == {"type": "base64", "media_type": "image/png", "data": PNG_B64}


# ------------------------------------------------------------------ Gemini


def test_input_file_by_id_inline_and_url_over_gemini(client, fake_gemini):
    pdf_id, png_id = upload(client, PDF, "q3.pdf"), upload(client, samples.PNG, "p.png", "vision")
    client.responses.create(
        model="gemini-2.5-flash",
        input=responses_input(
            {"type": "input_file", "file_id": pdf_id},
            {"type": "input_image", "file_id": png_id},
            {
                "type": "input_file",
                "file_data": f"data:application/pdf;base64,{PDF_B64}",
                "filename": "b.pdf",
            },
            {"type": "input_file", "file_url": "https://example.com/report.pdf"},
        ),
    )
    parts = fake_gemini.requests[-1].body["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "application/pdf", "data": PDF_B64}}
    assert parts[2] == {"inlineData": {"mimeType": "image/png", "data": PNG_B64}}
    assert parts[3] == {"inlineData": {"mimeType": "application/pdf", "data": PDF_B64}}
    assert parts[4] == {
        "fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/report.pdf"}
    }


# -------------------------------------------------------- OpenAI-compatible


def test_openai_compatible_gets_images_as_data_urls(client, fake_mistral):
    png_id = upload(client, samples.PNG, "p.png", "vision")
    client.chat.completions.create(
        model="mistral-small-latest",
        messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": png_id}}]}],
    )
    sent = fake_mistral.requests[-1]
    assert sent.headers["authorization"] == "Bearer mistral-test"
    assert sent.body["messages"][0]["content"][0] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{PNG_B64}"},
    }


def test_pdf_to_a_model_without_file_input_is_refused(client, fake_mistral):
    pdf_id = upload(client, PDF, "q3.pdf")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="mistral-small-latest", input=responses_input({"type": "input_file", "file_id": pdf_id})
        )
    error = caught.value.body
    assert (error["code"], error["param"]) == ("unsupported_parameter", "input[0].content[1]")
    assert fake_mistral.requests == []


def test_image_to_a_model_without_vision_is_refused(client, fake_openai, settings):
    creds = {slug: dict(v) for slug, v in settings.PROVIDER_CREDENTIALS.items()}
    creds["deepseek"] = {"api_key": "deepseek-test", "base_url": "http://127.0.0.1:9/v1"}
    settings.PROVIDER_CREDENTIALS = creds
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="deepseek-chat",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}],
                }
            ],
        )
    assert caught.value.body["param"] == "messages[0].content[0]" and "vision" in caught.value.body["message"]


# ------------------------------------------------------- ids, limits, text


def test_unknown_deleted_and_foreign_ids_are_404_naming_the_id(
    client, junction, fake_openai, other_workspace
):
    theirs = openai.OpenAI(
        api_key=make_key(other_workspace).secret, base_url=f"{junction.url}/v1", max_retries=0
    )
    foreign = upload(theirs, PDF, "theirs.pdf")
    deleted = upload(client, PDF, "gone.pdf")
    client.files.delete(deleted)
    for file_id in (foreign, deleted, "file-doesnotexist"):
        with pytest.raises(openai.NotFoundError) as caught:
            client.responses.create(
                model="gpt-4o-mini", input=responses_input({"type": "input_file", "file_id": file_id})
            )
        assert file_id in caught.value.body["message"] and caught.value.body["param"] == "input[0].content[1]"
    assert fake_openai.requests == []


def test_request_file_content_cap(client, fake_openai, settings):
    assert settings.FILES_REQUEST_MAX_BYTES == 50 * 1024 * 1024  # the default
    file_id = upload(client, PDF, "q3.pdf")
    settings.FILES_REQUEST_MAX_BYTES = len(PDF) + 10
    one = {"type": "input_file", "file_id": file_id}
    with pytest.raises(openai.APIStatusError) as caught:  # the same file twice: counted twice
        client.responses.create(model="gpt-4o-mini", input=responses_input(one, one))
    assert caught.value.status_code == 413 and str(len(PDF) + 10) in caught.value.body["message"]
    assert caught.value.body["type"] == "request_too_large"
    assert fake_openai.requests == []
    client.responses.create(model="gpt-4o-mini", input=responses_input(one))
    assert len(fake_openai.requests) == 1


def test_text_files_arrive_as_text_and_are_screened(client, fake_openai, api_key):
    notes = upload(client, b"meeting notes: ship on friday\n", "notes.md")
    client.responses.create(
        model="gpt-4o-mini", input=responses_input({"type": "input_file", "file_id": notes})
    )
    parts = fake_openai.requests[-1].body["input"][0]["content"]
    assert parts[1] == {"type": "input_text", "text": "[file: notes.md]\nmeeting notes: ship on friday\n"}

    policy_create(
        workspace=api_key.workspace,
        actor=Actor(label="test"),
        name="no codenames",
        rules=[
            RuleData(
                name="codename", matcher="substring", pattern="bluebird", scopes=["prompt"], action="block"
            )
        ],
    )
    secret = upload(client, b"project bluebird launches\n", "plan.txt")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-4o-mini", input=responses_input({"type": "input_file", "file_id": secret})
        )
    assert caught.value.body["type"] == "firewall_blocked"
    assert len(fake_openai.requests) == 1


def test_pdfs_are_logged_as_unscanned(client, fake_openai):
    file_id = upload(client, PDF, "q3.pdf")
    response = client.responses.create(
        model="gpt-4o-mini", input=responses_input({"type": "input_file", "file_id": file_id})
    )
    rows = wait_for_logs(request_id=response.model_extra["x_request_id"])
    assert rows[0].extra["files_unscanned"] == [file_id]
    assert rows[0].extra["files_used"] == [file_id]  # the console's usage by file
