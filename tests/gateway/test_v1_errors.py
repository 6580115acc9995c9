"""Every error case of the skeleton, as the OpenAI SDK sees it."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import openai
import pytest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_revoke
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)
HI = [{"role": "user", "content": "hi"}]


def sdk(junction, secret: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=secret, base_url=f"{junction.url}/v1", max_retries=0, timeout=20)


def post(junction, path: str, secret: str | None, **kwargs) -> httpx.Response:
    headers = {"authorization": f"Bearer {secret}"} if secret else {}
    return httpx.post(
        f"{junction.url}{path}", headers=headers | kwargs.pop("headers", {}), timeout=20, **kwargs
    )


def test_missing_key_is_401(junction, fake_openai):
    resp = post(junction, "/v1/chat/completions", None, json={"model": "gpt-4o-mini", "messages": HI})
    assert resp.status_code == 401
    error = resp.json()["error"]
    assert error["code"] == "invalid_api_key" and error["request_id"] == resp.headers["x-request-id"]
    (row,) = wait_for_logs()
    assert row.status_code == 401 and row.workspace_id is None and row.error_type == "authentication_error"
    assert fake_openai.requests == []


def test_wrong_key_is_401_authentication_error(junction, fake_openai):
    with pytest.raises(openai.AuthenticationError) as exc:
        sdk(junction, "jk_nope_nope").chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert exc.value.status_code == 401 and exc.value.code == "invalid_api_key"


def test_revoked_key_stops_working_within_seconds(junction, api_key, fake_openai, settings):
    client = sdk(junction, api_key.secret)
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # now cached in the server process
    api_key_revoke(key=ApiKey.objects.get(pk=api_key.pk))
    time.sleep(settings.API_KEY_LOCAL_TTL + 0.1)
    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert "revoked" in exc.value.message


def test_expired_key_is_401(junction, api_key, fake_openai):
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(openai.AuthenticationError) as exc:
        sdk(junction, api_key.secret).chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert "expired" in exc.value.message


def test_admin_key_cannot_call_v1(junction, admin_key, fake_openai):
    with pytest.raises(openai.PermissionDeniedError):
        sdk(junction, admin_key.secret).chat.completions.create(model="gpt-4o-mini", messages=HI)


def test_unknown_model_is_404_model_not_found(client, fake_openai):
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model="gpt-unknown", messages=HI)
    assert exc.value.code == "model_not_found" and exc.value.param == "model"
    assert fake_openai.requests == []


def test_malformed_json_is_400(junction, api_key, fake_openai):
    resp = post(
        junction,
        "/v1/chat/completions",
        api_key.secret,
        content=b'{"model": "gpt-4o-mini",',
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_request_error"
    assert resp.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions", {"model": "gpt-4o-mini"}, "messages"),
        ("/v1/chat/completions", {"messages": HI}, "model"),
        (
            "/v1/chat/completions",
            {"model": "gpt-4o-mini", "messages": HI, "temperature": "hot"},
            "temperature",
        ),
        (
            "/v1/chat/completions",
            {"model": "gpt-4o-mini", "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0].role",
        ),
        ("/v1/responses", {"model": "gpt-4o-mini"}, "input"),
        (
            "/v1/responses",
            {"model": "gpt-4o-mini", "input": "x", "previous_response_id": "resp_1"},
            "previous_response_id",
        ),
        ("/v1/responses", {"model": "gpt-4o-mini", "input": "x", "store": True}, "store"),
    ],
)
def test_invalid_request_names_the_param(junction, api_key, fake_openai, path, body, param):
    resp = post(junction, path, api_key.secret, json=body)
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == param
    assert fake_openai.requests == []


def test_sdk_raises_bad_request_with_param(client, fake_openai):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI, temperature=5)
    assert exc.value.param == "temperature"


def test_body_over_limit_is_413(junction, api_key, fake_openai, settings):
    settings.JUNCTION_MAX_BODY_BYTES = 1000
    resp = post(
        junction,
        "/v1/chat/completions",
        api_key.secret,
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 2000}]},
    )
    assert resp.status_code == 413
    assert resp.json()["error"]["type"] == "request_too_large"
    with pytest.raises(openai.APIStatusError) as exc:
        sdk(junction, api_key.secret).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "y" * 2000}]
        )
    assert exc.value.status_code == 413
    assert len(wait_for_logs(2)) == 2
    assert fake_openai.requests == []


def test_upstream_429_keeps_retry_after(client, fake_openai):
    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "[[429]]"}])
    assert exc.value.response.headers["retry-after"] == "7"
    assert exc.value.body["provider"] == "openai"


def test_upstream_5xx_is_502_upstream_error(client, fake_openai):
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "[[500]]"}])
    assert exc.value.status_code == 502
    assert exc.value.body["type"] == "upstream_error" and exc.value.body["provider"] == "openai"
    (row,) = wait_for_logs()
    assert row.status_code == 502 and row.error_type == "upstream_error" and row.provider == "openai"


def test_upstream_context_length_is_mapped(client, fake_openai):
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="gpt-4o-mini", input="[[ctx]]")
    assert exc.value.code == "context_length_exceeded"


def test_upstream_timeout_is_504(client, fake_openai, settings):
    settings.UPSTREAM_READ_TIMEOUT = 0.3
    fake_openai.slow_seconds = 1.0
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "[[slow]]"}]
        )
    assert exc.value.status_code == 504 and exc.value.body["type"] == "timeout_error"


def test_upstream_unreachable_is_502(client, fake_openai, settings):
    settings.PROVIDER_CREDENTIALS = {
        **settings.PROVIDER_CREDENTIALS,
        "openai": {"api_key": "k", "base_url": "http://127.0.0.1:9/v1"},
    }
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert exc.value.status_code == 502 and exc.value.code == "upstream_unreachable"


def test_stream_cut_mid_way_ends_with_an_error_event(client, fake_openai):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "[[cut]]"}], stream=True
    )
    with pytest.raises(openai.APIError) as exc:
        list(stream)
    assert "mid-stream" in exc.value.message
    (row,) = wait_for_logs()
    assert row.error_type == "upstream_error" and row.stream
