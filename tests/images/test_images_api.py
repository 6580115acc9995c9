"""The images API with the official OpenAI SDK, over each image upstream."""

from __future__ import annotations

import base64
import io
import math
from decimal import Decimal

import httpx
import openai
import pytest

from billing.book.credit_book import book
from billing.models import LedgerEntry
from files.models import GeneratedImage
from tests.billing.conftest import set_balance
from tests.fakes.openai_images import USAGE, image_bytes, parse_multipart
from tests.files import samples
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)


def units(usd: Decimal) -> int:
    return math.ceil(usd * 10_000)


def charge_of(request_id: str) -> int:
    book.settled(timeout=5)
    entry = LedgerEntry.objects.get(kind="charge", request_id=request_id)
    return -entry.amount_units


def test_generate_url_over_openai(client, fake_openai):
    result = client.images.generate(
        model="gpt-image-1", prompt="a red fox", n=2, size="1024x1024", quality="medium"
    )
    assert len(result.data) == 2 and result.size == "1024x1024" and result.quality == "medium"
    sent = fake_openai.requests[-1]
    assert sent.path == "/v1/images/generations"
    assert sent.body == {
        "model": "gpt-image-1",
        "prompt": "a red fox",
        "n": 2,
        "size": "1024x1024",
        "quality": "medium",
    }
    for index, image in enumerate(result.data):
        assert image.b64_json is None and image.url
        got = httpx.get(image.url)  # no auth header
        assert got.status_code == 200 and got.content == image_bytes(index)
        assert got.headers["content-type"] == "image/png"
    extra = result.model_extra or {}
    assert extra["provider"] == "openai" and extra["x_request_id"].startswith("req_")
    # per image x n, plus the prompt's input tokens at the input price
    expected = units(Decimal("0.042") * 2 + Decimal(USAGE["input_tokens"]) * Decimal(5) / 1_000_000)
    assert units(Decimal(str(extra["cost"]))) == expected
    assert result.usage is not None and result.usage.input_tokens == USAGE["input_tokens"]
    assert (result.usage.model_extra or {})["cost"] == 0.08425  # the true cost; ``cost`` is rounded up
    assert charge_of(extra["x_request_id"]) == expected
    rows = GeneratedImage.objects.filter(request_id=extra["x_request_id"]).order_by("id")
    assert [r.prompt for r in rows] == ["a red fox"] * 2 and sum(r.cost_units for r in rows) == expected
    (log,) = wait_for_logs(request_id=extra["x_request_id"])
    assert log.endpoint == "images.generations" and log.status_code == 200 and log.charged_units == expected
    assert log.model_used == "gpt-image-1" and log.input_tokens == USAGE["input_tokens"]


def test_tampered_and_expired_links_fail(client, fake_openai):
    url = client.images.generate(model="gpt-image-1", prompt="a fox").data[0].url
    assert url and httpx.get(url).status_code == 200
    assert httpx.get(url.replace("signature=", "signature=00")).status_code == 403
    expired = url.split("expires=")[0] + "expires=1&" + url.split("&", 1)[1]
    assert httpx.get(expired).status_code == 403


def test_generate_b64_over_dalle3(client, fake_openai):
    result = client.images.generate(
        model="dall-e-3",
        prompt="a lighthouse",
        size="1792x1024",
        quality="hd",
        style="vivid",
        response_format="b64_json",
    )
    (image,) = result.data
    assert base64.b64decode(image.b64_json) == image_bytes(0)
    assert image.revised_prompt == "A vivid scene: a lighthouse"
    sent = fake_openai.requests[-1].body
    assert sent["response_format"] == "b64_json" and sent["style"] == "vivid" and sent["quality"] == "hd"
    extra = result.model_extra or {}
    assert result.usage is None
    assert charge_of(extra["x_request_id"]) == units(Decimal("0.12"))


def test_dalle3_refuses_what_it_does_not_take(client, fake_openai):
    for kwargs, param in (
        ({"background": "transparent"}, "background"),
        ({"n": 2}, "n"),
        ({"size": "1536x1024"}, "size"),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            client.images.generate(model="dall-e-3", prompt="x", **kwargs)
        assert caught.value.body["param"] == param, kwargs
    assert fake_openai.requests == []


def test_generate_over_gemini(client, fake_gemini):
    result = client.images.generate(model="gemini-2.5-flash-image", prompt="a cat", size="1536x1024")
    (image,) = result.data
    assert httpx.get(image.url).content == image_bytes(7)
    assert image.revised_prompt == "Here is your image (3:2, 0 input images)."
    sent = fake_gemini.requests[-1]
    assert sent.path == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert sent.body["generationConfig"] == {
        "responseModalities": ["TEXT", "IMAGE"],
        "imageConfig": {"aspectRatio": "3:2"},
    }
    extra = result.model_extra or {}
    assert extra["provider"] == "gemini"
    assert charge_of(extra["x_request_id"]) == units(
        Decimal("0.039") + Decimal(12) * Decimal("0.3") / 1_000_000
    )


def test_gemini_refuses_mask_and_quality(client, fake_gemini):
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.edit(
            model="gemini-2.5-flash-image",
            prompt="x",
            image=("a.png", io.BytesIO(samples.PNG)),
            mask=("m.png", io.BytesIO(samples.PNG)),
        )
    assert caught.value.body["param"] == "mask" and caught.value.body["code"] == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="gemini-2.5-flash-image", prompt="x", quality="high")
    assert caught.value.body["param"] == "quality"
    assert fake_gemini.requests == []


def test_edit_with_mask_over_openai(client, fake_openai):
    result = client.images.edit(
        model="gpt-image-1",
        prompt="add a hat",
        image=[("a.png", io.BytesIO(samples.PNG)), ("b.jpg", io.BytesIO(samples.JPEG))],
        mask=("mask.png", io.BytesIO(samples.PNG)),
        input_fidelity="high",
        response_format="b64_json",
    )
    assert base64.b64decode(result.data[0].b64_json) == image_bytes(0)
    sent = fake_openai.requests[-1]
    assert sent.path == "/v1/images/edits"
    parts = parse_multipart(sent)
    files = [(p.name, p.content_type, p.data) for p in parts if p.filename]
    assert files == [
        ("image[]", "image/png", samples.PNG),
        ("image[]", "image/jpeg", samples.JPEG),
        ("mask", "image/png", samples.PNG),
    ]
    fields = {p.name: p.data.decode() for p in parts if not p.filename}
    assert fields == {"model": "gpt-image-1", "prompt": "add a hat", "input_fidelity": "high"}
    (log,) = wait_for_logs(request_id=(result.model_extra or {})["x_request_id"])
    assert log.endpoint == "images.edits"


def test_edit_over_gemini(client, fake_gemini):
    result = client.images.edit(
        model="gemini-2.5-flash-image", prompt="make it blue", image=("a.png", io.BytesIO(samples.PNG))
    )
    assert result.data[0].revised_prompt == "Here is your image (1:1, 1 input images)."
    parts = fake_gemini.requests[-1].body["contents"][0]["parts"]
    assert parts[0] == {"text": "make it blue"}
    assert base64.b64decode(parts[1]["inlineData"]["data"]) == samples.PNG


def test_openai_compatible_server(client, fake_openai, settings, catalog):
    from gateway.catalog.snapshot import invalidate_catalog
    from gateway.models import CatalogModel, Deployment, Provider

    provider = Provider.objects.create(
        slug="imagehost", name="Image host", kind="openai_compatible", base_url="http://unused/v1"
    )
    model = CatalogModel.objects.create(
        model_id="flux-schnell",
        owned_by="imagehost",
        capabilities=["image_generation"],
        image_price=Decimal("0.003"),
    )
    Deployment.objects.create(model=model, provider=provider, upstream_model="black-forest-labs/flux-schnell")
    creds = {slug: dict(v) for slug, v in settings.PROVIDER_CREDENTIALS.items()}
    creds["imagehost"] = {"api_key": "sk-host", "base_url": creds["openai"]["base_url"]}
    settings.PROVIDER_CREDENTIALS = creds
    invalidate_catalog()
    result = client.images.generate(model="flux-schnell", prompt="a tree", n=3, size="512x512")
    assert len(result.data) == 3
    sent = fake_openai.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-host"
    assert sent.body == {
        "model": "black-forest-labs/flux-schnell",
        "prompt": "a tree",
        "n": 3,
        "size": "512x512",
        "response_format": "b64_json",
    }
    assert charge_of((result.model_extra or {})["x_request_id"]) == units(Decimal("0.009"))
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="flux-schnell", prompt="x", background="transparent")
    assert caught.value.body["param"] == "background"


def test_short_balance_is_402_before_any_upstream_call(client, fake_openai, workspace):
    set_balance(workspace.id, 100)  # $0.01: less than one high-quality image
    with pytest.raises(openai.APIStatusError) as caught:
        client.images.generate(model="gpt-image-1", prompt="x", quality="high")
    assert caught.value.status_code == 402 and caught.value.body["code"] == "insufficient_quota"
    assert fake_openai.requests == []
    assert not GeneratedImage.objects.exists()


def test_bad_requests_name_the_parameter(client, fake_openai):
    cases = [
        ({"model": "gpt-image-1", "prompt": "x", "size": "999x999"}, "size"),
        ({"model": "gpt-image-1", "prompt": "x", "n": 11}, "n"),
        ({"model": "gpt-image-1", "prompt": "x", "style": "vivid"}, "style"),
        ({"model": "gpt-4o-mini", "prompt": "x"}, "model"),
        ({"model": "gpt-image-1", "prompt": ""}, "prompt"),
        ({"model": "gpt-image-1", "prompt": "x", "quality": "ultra"}, "quality"),
        ({"model": "gpt-image-1", "prompt": "x", "svg": {"model": "y"}}, "svg"),
    ]
    for body, param in cases:
        resp = httpx.post(
            f"{client.base_url}images/generations",
            json=body,
            headers={"authorization": f"Bearer {client.api_key}"},
        )
        assert resp.status_code == 400, body
        assert resp.json()["error"]["param"] == param, body
    assert fake_openai.requests == []


def test_upstream_refusal_is_relayed_and_not_charged(client, fake_openai):
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="gpt-image-1", prompt="[[400]] bad")
    assert caught.value.body["code"] == "content_policy_violation"
    book.settled(timeout=5)
    assert not LedgerEntry.objects.filter(kind="charge").exists()


@pytest.mark.parametrize("mount", ["/api/v1", "/v1/openai"])
def test_every_mount(junction, api_key, fake_openai, mount):
    other = openai.OpenAI(
        api_key=api_key.secret, base_url=f"{junction.url}{mount}", max_retries=0, timeout=20
    )
    assert other.images.generate(model="gpt-image-1", prompt="x").data[0].url


def test_firewall_screens_the_prompt(client, fake_openai, workspace):
    from firewall.rules import RuleData
    from firewall.services import Actor, policy_create

    block = RuleData(
        name="no secrets", matcher="substring", pattern="TOPSECRET", scopes=["prompt"], action="block"
    )
    mask = RuleData(name="names", matcher="substring", pattern="Alice", scopes=["prompt"], action="mask")
    policy_create(workspace=workspace, actor=Actor(label="t"), name="p", rules=[block, mask])
    with pytest.raises(openai.APIStatusError) as caught:
        client.images.generate(model="gpt-image-1", prompt="draw TOPSECRET plans")
    assert caught.value.body["type"] == "firewall_blocked"
    assert fake_openai.requests == []
    client.images.generate(model="gpt-image-1", prompt="a portrait of Alice")
    assert "Alice" not in fake_openai.requests[-1].body["prompt"]


def test_models_show_image_prices(client, fake_openai):
    model = client.models.retrieve("gpt-image-1")
    prices = (model.model_extra or {})["pricing"]["images"]
    assert prices["high"]["1536x1024"] == "0.25" and prices["low"]["1024x1024"] == "0.011"


def test_rate_limit_is_429_with_retry_after(client, fake_openai, api_key):
    from billing.models import KeyLimits

    KeyLimits.objects.create(api_key_id=api_key.pk, rpm_limit=1)
    client.images.generate(model="gpt-image-1", prompt="one")
    with pytest.raises(openai.RateLimitError) as caught:
        client.images.generate(model="gpt-image-1", prompt="two")
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert len(fake_openai.requests) == 1
