from __future__ import annotations

import httpx
import pytest

from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)


def test_embeddings_through_the_sdk(client, fake_openai):
    result = client.embeddings.create(model="text-embedding-3-small", input=["one", "two"])
    assert [d.embedding for d in result.data] == [[0.25, -0.5, 0.0], [0.25, -0.5, 1.0]]
    assert result.usage.prompt_tokens == 6
    assert result.model_extra["x_request_id"].startswith("req_")
    sent = fake_openai.requests[-1]
    assert sent.path == "/v1/embeddings" and sent.body["model"] == "text-embedding-3-small"
    (row,) = wait_for_logs()
    assert (row.endpoint, row.input_tokens, row.status_code) == ("embeddings", 6, 200)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "text-embedding-3-small"}, "input"),
        ({"model": "text-embedding-3-small", "input": [{"x": 1}]}, "input[0]"),
        ({"model": "text-embedding-3-small", "input": "x", "encoding_format": "hex"}, "encoding_format"),
    ],
)
def test_embeddings_bad_input_names_the_param(junction, api_key, fake_openai, body, param):
    resp = httpx.post(
        f"{junction.url}/v1/embeddings", json=body, headers={"authorization": f"Bearer {api_key.secret}"}
    )
    assert resp.status_code == 400 and resp.json()["error"]["param"] == param
    assert fake_openai.requests == []
