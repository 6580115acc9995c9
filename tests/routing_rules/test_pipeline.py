"""End to end through the official SDK: fallbacks, breakers, rules, trace, header."""

from __future__ import annotations

import contextlib

import openai
import pytest

from routing_rules.services import routing_rule_create
from tests.conftest import make_key
from tests.helpers import wait_for_logs

HI = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("failure", [429, 500, 503, "slow", "connect"])
def test_retryable_failure_falls_back_to_the_next_deployment(client, upstreams, settings, failure):
    if failure == "connect":
        settings.PROVIDER_CREDENTIALS = {
            **settings.PROVIDER_CREDENTIALS,
            "openai": {"api_key": "k", "base_url": "http://127.0.0.1:9/v1"},
        }
    elif failure == "slow":
        settings.UPSTREAM_READ_TIMEOUT = 0.3
        upstreams.primary.fail = "slow"
    else:
        upstreams.primary.fail = failure
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI)
    resp = raw.parse()
    assert resp.choices[0].message.content
    assert resp.model_extra["provider"] == "openrouter"
    assert (
        raw.headers["x-junction-route"] == "rule=none; candidates=openai/gpt-4o-mini,openrouter/gpt-4o-mini"
    )
    assert upstreams.secondary.requests[0].body["model"] == "openai/gpt-4o-mini"
    (row,) = wait_for_logs()
    assert row.status_code == 200 and row.provider == "openrouter"
    attempts = row.extra["attempts"]
    assert [(a["provider"], a["status"]) for a in attempts][1] == ("openrouter", "ok")
    assert attempts[0]["provider"] == "openai" and attempts[0]["retryable"] is True
    assert attempts[0]["status"] == {429: 429, 500: 502, 503: 502, "slow": 504, "connect": 502}[failure]


def test_stream_falls_back_before_the_first_byte(client, upstreams):
    upstreams.primary.fail = 503
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == upstreams.secondary.reply
    assert upstreams.primary.failures == 1
    (row,) = wait_for_logs()
    assert [a["status"] for a in row.extra["attempts"]] == [502, "ok"]


def test_no_fallback_after_the_first_byte(client, upstreams):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "[[cut]]"}], stream=True
    )
    with pytest.raises(openai.APIError):
        list(stream)
    assert upstreams.primary.served == 1
    assert upstreams.secondary.requests == []
    (row,) = wait_for_logs()
    assert [a["provider"] for a in row.extra["attempts"]] == ["openai"]


def test_non_retryable_error_does_not_fall_back(client, upstreams):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "[[ctx]]"}])
    assert upstreams.secondary.requests == []


def test_all_candidates_failing_returns_the_last_error_with_every_attempt_logged(client, upstreams):
    upstreams.primary.fail = 500
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "[[503]]"}])
    assert exc.value.response.headers["x-junction-route"].startswith("rule=none;")
    (row,) = wait_for_logs()
    assert [(a["provider"], a["status"]) for a in row.extra["attempts"]] == [
        ("openai", 502),
        ("openrouter", 502),
    ]


def test_breaker_opens_and_the_router_skips_the_deployment(client, upstreams, settings):
    settings.ROUTING_BREAKER_FAILURES = 2
    upstreams.primary.fail = 503
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert upstreams.primary.failures == 2
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=HI)
    assert raw.headers["x-junction-route"].endswith("candidates=openrouter/gpt-4o-mini")
    assert upstreams.primary.failures == 2  # not called while open
    rows = wait_for_logs(3)
    excluded = rows[-1].extra["route"][0]["excluded"]
    assert {"deployment": "openai/gpt-4o-mini", "reason": "circuit open"} in excluded


def test_a_byok_key_failures_open_a_breaker_for_that_key_alone(
    junction, client, upstreams, settings, other_workspace
):
    """Workspace B's own OpenAI key fails every call: B's calls stop trying it,
    but the platform's deployment stays open for workspace A."""
    settings.ROUTING_BREAKER_FAILURES = 3
    upstreams.primary.fail, upstreams.primary.only_key = 503, "sk-tenant-b"
    tenant_b = openai.OpenAI(
        api_key=make_key(other_workspace).secret,
        base_url=f"{junction.url}/v1",
        max_retries=0,
        default_headers={"x-openai-key": "sk-tenant-b"},
    )
    for _ in range(12):
        with contextlib.suppress(openai.APIStatusError):
            tenant_b.chat.completions.create(model="openai:gpt-4o-mini", messages=HI)
    assert upstreams.primary.failures == 3  # then B's own breaker skipped the deployment
    raw = client.chat.completions.with_raw_response.create(model="openai:gpt-4o-mini", messages=HI)
    assert raw.parse().model_extra["provider"] == "openai"
    assert raw.headers["x-junction-route"].endswith("candidates=openai/gpt-4o-mini")
    with pytest.raises(openai.InternalServerError) as exc:  # B: still skipped for its key
        tenant_b.chat.completions.create(model="openai:gpt-4o-mini", messages=HI)
    # Only an open circuit held it back: a 503 the SDKs retry, not a 422 about the request.
    assert exc.value.status_code == 503 and exc.value.body["code"] == "upstreams_unavailable"


def test_rule_trace_lands_on_the_log_and_the_header(client, upstreams, workspace):
    rule = routing_rule_create(
        workspace=workspace,
        name="gold to openrouter",
        conditions=[{"type": "metadata_equals", "key": "tier", "value": "gold"}],
        action={"type": "route", "model": "openrouter:gpt-4o-mini"},
    )
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=HI, metadata={"tier": "gold"}
    )
    assert raw.parse().model_extra["provider"] == "openrouter"
    assert raw.headers["x-junction-route"] == f"rule={rule.pk}:route; candidates=openrouter/gpt-4o-mini"
    (row,) = wait_for_logs()
    assert row.extra["rule_trace"] == [
        {
            "rule_id": rule.pk,
            "name": "gold to openrouter",
            "priority": 10,
            "matched": True,
            "decided_by": {"index": 0, "type": "metadata_equals", "key": "tier"},
            "action": {"type": "route", "model": "openrouter:gpt-4o-mini"},
        }
    ]


def test_block_rule_is_a_routing_error_with_the_trace(client, upstreams, workspace):
    routing_rule_create(
        workspace=workspace,
        name="no internal",
        conditions=[{"type": "text_contains", "value": "internal only"}],
        action={"type": "block", "message": "Internal prompts stay inside."},
    )
    with pytest.raises(openai.UnprocessableEntityError) as exc:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "this is INTERNAL ONLY"}]
        )
    body = exc.value.body
    assert body["type"] == "routing_error" and body["message"] == "Internal prompts stay inside."
    assert body["rule_trace"][0]["matched"] is True and body["rule_trace"][0]["action"]["type"] == "block"
    assert exc.value.response.headers["x-junction-route"].endswith(":block; candidates=none")
    assert upstreams.primary.served == 0 and upstreams.secondary.requests == []
    (row,) = wait_for_logs()
    assert row.status_code == 422 and row.extra["rule_trace"][0]["matched"] is True


def test_no_eligible_provider_is_422_in_the_documented_shape(client, upstreams):
    with pytest.raises(openai.UnprocessableEntityError) as exc:
        client.chat.completions.create(model="anthropic:claude-haiku-4-5", messages=HI)
    body = exc.value.body
    assert {k: body[k] for k in ("type", "message", "http_status", "provider", "raw")} == {
        "type": "routing_error",
        "message": "No eligible providers available for this request.",
        "http_status": 422,
        "provider": None,
        "raw": None,
    }
    assert body["rule_trace"][0]["excluded"] == [
        {"deployment": "anthropic/claude-haiku-4-5", "reason": "provider not configured"}
    ]


def test_auto_mode_names_the_mode_in_the_response(client, upstreams):
    resp = client.chat.completions.create(model="auto:cost", messages=HI)
    assert resp.model_extra["routing_mode"] == "cost"
    (row,) = wait_for_logs()
    assert row.extra["routing_mode"] == "cost" and row.provider in {"openai", "openrouter"}


def test_router_mode_parameter_and_the_stream_usage_chunk(client, upstreams):
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=HI,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"router_mode": "fast"},
    )
    last = list(stream)[-1]
    assert last.model_extra["routing_mode"] == "latency"  # ``fast`` is the old name of ``latency``
    (row,) = wait_for_logs()
    assert row.extra["routing_mode"] == "latency"


def test_rules_are_cached_per_process(workspace, api_key, catalog, django_assert_num_queries):
    import asyncio

    from gateway.auth import Principal
    from gateway.catalog.snapshot import load_catalog
    from gateway.context import CallContext
    from gateway.dialects import chat
    from routing_rules.stage import RoutingCall, route_call
    from tests.routing_rules.helpers import chat_request

    routing_rule_create(
        workspace=workspace, name="r", conditions=[], action={"type": "route", "model": "gpt-4o"}
    )
    principal = Principal(
        api_key.pk, api_key.prefix, "", workspace.pk, workspace.slug, "inference", None, False, True
    )
    snapshot = load_catalog()

    def run():
        ctx = CallContext(endpoint="chat.completions", dialect=chat, headers={"x-openai-key": "sk-x"})
        ctx.principal = principal
        return asyncio.run(route_call(ctx, RoutingCall(), chat_request(), snapshot))

    run()  # loads rules and keys
    with django_assert_num_queries(0):
        routed = run()
    assert routed.decision.rule_id is not None


def test_another_workspaces_rules_never_touch_this_traffic(client, upstreams, other_workspace):
    sentinel = "sentinel-4b1d-other-rule"
    routing_rule_create(
        workspace=other_workspace,
        name=sentinel,
        conditions=[{"type": "text_contains", "value": sentinel}],
        action={"type": "block", "message": sentinel},
    )
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": sentinel}]
    )
    assert raw.status_code == 200 and sentinel not in raw.headers["x-junction-route"]
    (row,) = wait_for_logs()
    assert row.extra["rule_trace"] == []
