"""The management API's schema and docs page; routes with and without a trailing slash."""

from __future__ import annotations

import json

from django.contrib.staticfiles import finders
from django.test import Client


def schema(manage_client) -> dict:
    resp = manage_client.get("/api/manage/schema", HTTP_ACCEPT="application/json")
    assert resp.status_code == 200
    return json.loads(resp.content)


def test_schema_declares_bearer_admin_key_and_session(manage_client):
    doc = schema(manage_client)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["adminKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["adminKey"]["description"],
    }
    assert schemes["cookieAuth"]["in"] == "cookie"
    security = doc["paths"]["/api/manage/logs/"]["get"]["security"]
    assert {"adminKey": []} in security and {"cookieAuth": []} in security


def test_schema_types_rule_conditions_and_actions_and_names_components(manage_client):
    components = schema(manage_client)["components"]["schemas"]
    assert not {"Input", "Output"} & set(components)
    rule = components["RoutingRuleOutput"]["properties"]
    condition_types = {m["properties"]["type"]["enum"][0] for m in rule["conditions"]["items"]["oneOf"]}
    assert {"text_contains", "metadata_equals", "api_key_in", "has_tools"} <= condition_types
    action_types = {m["properties"]["type"]["enum"][0] for m in rule["action"]["oneOf"]}
    assert action_types == {"route", "fallbacks", "split", "block"}
    rule_input = components["RoutingRuleInputRequest"]["properties"]
    assert rule_input["action"] != {} and "oneOf" in rule_input["action"]


def test_docs_page_is_served_from_local_static_files(db):
    resp = Client().get("/api/manage/docs")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html and "/api/manage/schema" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert finders.find("vendor/swagger-ui/swagger-ui-bundle.js") and finders.find("api/docs.js")
    assert Client().get("/api/manage/docs/").status_code == 200


def test_detail_routes_answer_with_and_without_trailing_slash(manage_client, workspace):
    created = manage_client.post(
        "/api/manage/routing-rules",
        {"name": "r", "conditions": [], "action": {"type": "block"}},
        format="json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    for url in (f"/api/manage/routing-rules/{pk}", f"/api/manage/routing-rules/{pk}/"):
        assert manage_client.get(url).json()["id"] == pk
    for url in (
        "/api/manage/keys",
        "/api/manage/keys/",
        "/api/manage/workspace/",
        "/api/manage/firewall/policies",
    ):
        assert manage_client.get(url).status_code == 200, url
