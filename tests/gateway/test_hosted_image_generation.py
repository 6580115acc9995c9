"""The ``image_generation`` tool on /v1/responses with the official SDK: the
image is stored and the ``image_generation_call`` item carries a signed
``url`` (that downloads the exact bytes without auth) beside the SDK's
``result``; streamed ``response.image_generation_call.*`` events come in
order; the image is charged at the catalog price; a model without the
catalog flag is a 400 ``unsupported_tool`` naming it."""

from __future__ import annotations

import base64
from decimal import Decimal

import httpx
import pytest

from files.models import GeneratedImage, ImageSource
from gateway.catalog.snapshot import invalidate_catalog
from gateway.models import CatalogModel
from tests.fakes.openai_upstream import IMAGE_PARTIAL, IMAGE_PNG, IMAGE_REVISED_PROMPT
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "gpt-4o-mini"
TOOL = {"type": "image_generation", "quality": "low"}
IMAGE_PRICE_UNITS = 420  # $0.042 per image, tokens free


def only_images_priced() -> None:
    CatalogModel.objects.filter(model_id=MODEL).update(
        input_price=0, cached_input_price=0, output_price=0, reasoning_price=0, image_price=Decimal("0.042")
    )
    invalidate_catalog()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_image_generation_is_stored_and_linked(client, fake_openai, stream):
    only_images_priced()
    kwargs = {"model": MODEL, "input": "Draw a red pixel [[image]]", "tools": [TOOL]}
    if stream:
        with client.responses.stream(**kwargs) as s:
            events = list(s)
            response = s.get_final_response()
        kinds = [e.type for e in events if e.type.startswith("response.image_generation_call.")]
        assert kinds == [
            "response.image_generation_call.in_progress",
            "response.image_generation_call.generating",
            "response.image_generation_call.partial_image",
            "response.image_generation_call.completed",
        ]
        (partial,) = [e for e in events if e.type == "response.image_generation_call.partial_image"]
        assert partial.partial_image_b64 == IMAGE_PARTIAL and partial.partial_image_index == 0
    else:
        response = client.responses.create(**kwargs)
    (call,) = [item for item in response.output if item.type == "image_generation_call"]
    assert call.status == "completed" and base64.b64decode(call.result) == IMAGE_PNG
    assert (call.revised_prompt, call.size, call.quality) == (IMAGE_REVISED_PROMPT, "1024x1024", "low")
    url = (call.model_extra or {})["url"]  # Junction's field beside the SDK's
    downloaded = httpx.get(url)  # signed: no auth header
    assert downloaded.status_code == 200 and downloaded.content == IMAGE_PNG
    tampered = httpx.get(url.replace("signature=", "signature=0"))
    assert tampered.status_code in (403, 404)
    # Translated even on OpenAI's own wire (the image had to be read to be stored).
    assert fake_openai.requests[-1].body["tools"] == [TOOL]
    (row,) = wait_for_logs(1, request_id=response.model_extra["x_request_id"])
    image = GeneratedImage.objects.get()
    assert (image.source, image.request_id, image.model) == (
        ImageSource.RESPONSES_TOOL,
        row.request_id,
        MODEL,
    )
    assert row.extra["images"] == 1 and row.extra["generated_images"] == [image.public_id]
    assert row.cost_units == IMAGE_PRICE_UNITS


def test_image_generation_call_sent_back_reaches_openai(client, fake_openai):
    first = client.responses.create(model=MODEL, input="Draw [[image]]", tools=[TOOL])
    (call,) = [item for item in first.output if item.type == "image_generation_call"]
    client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "Draw"},
            {"type": "image_generation_call", "id": call.id, "status": "completed", "result": call.result},
            {"role": "user", "content": "Now describe it"},
        ],
        tools=[TOOL],
    )
    sent = fake_openai.requests[-1].body["input"][1]
    assert sent == {
        "type": "image_generation_call",
        "id": "ig_fake",
        "status": "completed",
        "result": call.result,
    }


def test_image_generation_on_a_model_without_the_flag_names_it(client, fake_openai):
    with pytest.raises(Exception) as info:
        client.responses.create(model="o4-mini", input="Draw", tools=[{"type": "image_generation"}])
    body = info.value.body
    assert info.value.status_code == 400 and (body["code"], body["param"]) == ("unsupported_tool", "tools[0]")
    assert "o4-mini" in body["message"] and "image_generation" in body["message"]
    assert fake_openai.requests == []


def test_image_generation_over_a_provider_without_it_is_unsupported_tool(client, fake_anthropic):
    CatalogModel.objects.filter(model_id="claude-haiku-4-5").update(
        capabilities=["streaming", "tools", "image_generation_tool"]
    )
    invalidate_catalog()
    with pytest.raises(Exception) as info:
        client.responses.create(model="claude-haiku-4-5", input="Draw", tools=[{"type": "image_generation"}])
    body = info.value.body
    assert info.value.status_code == 400 and (body["code"], body["param"]) == ("unsupported_tool", "tools[0]")
    assert fake_anthropic.requests == []


# ------------------------------------------------------------------ gemini

GEMINI_IMAGE = "gemini-2.5-flash-image"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_image_generation_over_a_gemini_image_model(client, fake_gemini, stream):
    CatalogModel.objects.filter(model_id=GEMINI_IMAGE).update(input_price=0, output_price=0)
    invalidate_catalog()
    kwargs = {
        "model": GEMINI_IMAGE,
        "input": "Draw a red pixel [[image]]",
        "tools": [{"type": "image_generation"}],
    }
    if stream:
        with client.responses.stream(**kwargs) as s:
            kinds = [e.type for e in s if e.type.startswith("response.image_generation_call.")]
            response = s.get_final_response()
        assert kinds == [
            "response.image_generation_call.in_progress",
            "response.image_generation_call.generating",
            "response.image_generation_call.completed",
        ]
    else:
        response = client.responses.create(**kwargs)
    assert fake_gemini.requests[-1].body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]
    (call,) = [item for item in response.output if item.type == "image_generation_call"]
    assert base64.b64decode(call.result) == IMAGE_PNG and call.output_format == "png"
    assert httpx.get(call.model_extra["url"]).content == IMAGE_PNG
    assert response.output_text == "Here is your pixel."
    (row,) = wait_for_logs(1, request_id=response.model_extra["x_request_id"])
    assert (row.provider, row.extra["images"]) == ("gemini", 1)
    assert row.cost_units == 390  # the catalog's $0.039 per image
    assert GeneratedImage.objects.get().provider == "gemini"


def test_image_generation_options_gemini_cannot_honour_are_refused(client, fake_gemini):
    with pytest.raises(Exception) as info:
        client.responses.create(
            model=GEMINI_IMAGE, input="Draw", tools=[{"type": "image_generation", "quality": "low"}]
        )
    body = info.value.body
    assert info.value.status_code == 400 and body["param"] == "tools[0].quality"
    assert fake_gemini.requests == []
