"""The API's mounts (/v1, /api/v1, /v1/openai) and what an unknown path or a
wrong method under them answers: JSON in the caller's error shape, never
Django's HTML page."""

from __future__ import annotations

import httpx
import openai
import pytest

pytestmark = pytest.mark.django_db(transaction=True)
HI = [{"role": "user", "content": "hi"}]


def test_v1_openai_mount_serves_the_same_api_through_the_sdk(junction, api_key, fake_openai):
    client = openai.OpenAI(
        api_key=api_key.secret, base_url=f"{junction.url}/v1/openai", max_retries=0, timeout=20
    )
    chat = client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert chat.choices[0].message.content
    answer = client.responses.create(model="gpt-4o-mini", input="hi")
    assert answer.output_text
    with client.chat.completions.stream(model="gpt-4o-mini", messages=HI) as stream:
        text = "".join(e.delta for e in stream if e.type == "content.delta")
    assert text
    assert any(m.id == "gpt-4o-mini" for m in client.models.list())
    assert [r.path for r in fake_openai.requests] == [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/chat/completions",
    ]


@pytest.mark.parametrize("mount", ["/v1", "/api/v1", "/v1/openai"])
@pytest.mark.parametrize("rest", ["/nonexistent", "/no-such-endpoint", "/chat/completions/", "", "/"])
def test_unknown_paths_are_json_404_in_openais_shape(junction, mount, rest):
    resp = httpx.post(f"{junction.url}{mount}{rest}", json={}, timeout=10)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/json"
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "unknown_url"
    assert error["request_id"] == resp.headers["x-request-id"] and error["request_id"].startswith("req_")
    assert f"{mount}{rest}" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/chat/completions", "POST"),
        ("DELETE", "/api/v1/responses", "POST"),
        ("GET", "/v1/openai/embeddings", "POST"),
        ("POST", "/v1/models", "GET"),
        ("PUT", "/v1/credits", "GET"),
    ],
)
def test_wrong_method_is_json_405(junction, method, path, allowed):
    resp = httpx.request(method, f"{junction.url}{path}", timeout=10)
    assert resp.status_code == 405
    assert resp.headers["allow"] == allowed
    error = resp.json()["error"]
    assert error["code"] == "method_not_allowed" and error["request_id"] == resp.headers["x-request-id"]


def test_unknown_path_under_messages_answers_in_anthropics_shape(junction):
    resp = httpx.post(f"{junction.url}/v1/messages/nope", json={}, timeout=10)
    assert resp.status_code == 404
    body = resp.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert body["request_id"] == resp.headers["x-request-id"]


def test_sdk_sees_unknown_path_and_wrong_method_as_api_errors(junction, api_key):
    client = openai.OpenAI(api_key=api_key.secret, base_url=f"{junction.url}/v1", max_retries=0, timeout=20)
    with pytest.raises(openai.NotFoundError) as exc:
        client.get("/nonexistent", cast_to=object)
    assert exc.value.code == "unknown_url" and exc.value.body["request_id"].startswith("req_")
    with pytest.raises(openai.APIStatusError) as exc:
        client.get("/chat/completions", cast_to=object)
    assert exc.value.status_code == 405 and exc.value.code == "method_not_allowed"


def test_paths_outside_the_api_keep_djangos_pages(junction):
    resp = httpx.get(f"{junction.url}/v2/nonexistent", timeout=10)
    assert resp.status_code == 404 and "application/json" not in resp.headers["content-type"]
