"""Console: the model catalog page (search, provider and capability filters)."""

from __future__ import annotations

import pytest

from routing_rules.services import provider_key_create


def _ids(response) -> list[str]:
    return [e.model_id for e in response.context["entries"]]


def test_lists_catalog_with_prices(workspace, member_web, catalog):
    response = member_web.get("/console/models/")
    assert response.status_code == 200
    ids = _ids(response)
    assert "gpt-4o-mini" in ids and "claude-sonnet-4-5" in ids
    page = response.content.decode()
    assert "$0.15" in page and "$0.6" in page  # gpt-4o-mini per 1M


def test_filters(workspace, member_web, catalog):
    assert all("gpt" in i for i in _ids(member_web.get("/console/models/?q=GPT")))
    anthropic = _ids(member_web.get("/console/models/?provider=anthropic"))
    assert anthropic and all(i.startswith("claude") for i in anthropic)
    embeddings = _ids(member_web.get("/console/models/?capability=embeddings"))
    assert embeddings and all("embedding" in i for i in embeddings)
    assert _ids(member_web.get("/console/models/?q=gpt&provider=anthropic")) == []


def test_htmx_gets_only_the_table(workspace, member_web, catalog):
    response = member_web.get("/console/models/?q=gpt", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<table" in body and "<aside" not in body


def test_availability_follows_workspace_keys(workspace, member_web, catalog):
    def available(model_id):
        entries = member_web.get("/console/models/").context["entries"]
        return next(e for e in entries if e.model_id == model_id).available

    assert not available("mistral-small-latest")
    provider_key_create(workspace=workspace, provider="mistral", api_key="mistral-key-123456")
    assert available("mistral-small-latest")


def test_anonymous_to_login(anon_web):
    assert anon_web.get("/console/models/").headers["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("query", ["", "?capability=vision"])
def test_query_count(workspace, member_web, catalog, django_assert_num_queries, query):
    member_web.get("/console/models/")
    # session, user, memberships, models, their deployments, own provider keys,
    # keyless providers, providers, capabilities, balance
    with django_assert_num_queries(10):
        assert member_web.get(f"/console/models/{query}").status_code == 200
