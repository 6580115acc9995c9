"""The response scope on the translation path: provider decoder -> firewall
event filter -> dialect encoder, driven through ``gateway.relay`` with a
stand-in decoder and encoder (the real OpenAI ones are being built), so the
wiring is exercised exactly as production runs it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from firewall import hooks
from firewall.rules import RuleData
from firewall.services import Actor, policy_create
from gateway import relay
from gateway.auth import Principal
from gateway.canonical import Event, Finish, FinishReason, StreamError, TextDelta, Usage, UsageEvent
from gateway.context import CallContext
from gateway.dialects import chat
from gateway.dialects.base import Translator
from gateway.logs import request_logs
from gateway.providers.base import UpstreamRequest

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "AKIAIOSFODNN7EXAMPLE"


class Decoder:
    """Each upstream chunk is text; ``<end>`` finishes with usage."""

    def feed(self, chunk: bytes) -> list[Event]:
        text = chunk.decode()
        if text == "<end>":
            return [Finish(FinishReason.STOP), UsageEvent(Usage(input_tokens=2, output_tokens=5))]
        return [TextDelta(text)]

    def close(self) -> list[Event]:
        return []


class Encoder:
    def __init__(self, *, request: Any, finalize: Any, request_id: str = "") -> None:
        self.finalize = finalize

    def encode(self, event: Event) -> bytes:
        if isinstance(event, TextDelta):
            return f"T:{event.text}|".encode()
        if isinstance(event, StreamError):
            return f"E:{event.error.type}:{event.error.message}|".encode()
        if isinstance(event, UsageEvent):
            return f"U:{sorted(self.finalize(event.usage))}|".encode()
        return b""

    def finish(self) -> bytes:
        return b""


class Upstream:
    def __init__(self, chunks: list[str]) -> None:
        self.chunks = chunks

    async def aiter_bytes(self):
        for chunk in self.chunks:
            yield chunk.encode()

    async def aclose(self) -> None:
        return None


async def run(workspace, chunks: list[str], monkeypatch) -> tuple[str, CallContext, list[dict]]:
    rows: list[dict] = []
    monkeypatch.setattr(request_logs, "submit", rows.append)
    dialect = SimpleNamespace(
        TRANSLATOR=Translator(encode_response=chat.encode_response, stream_encoder=Encoder),
        encode_stream_error=chat.encode_stream_error,
    )
    ctx = CallContext(endpoint="chat.completions", dialect=dialect, headers={})  # type: ignore[arg-type]
    ctx.principal = Principal(1, "jk_x", "h", workspace.pk, workspace.slug, "inference", None, False, True)
    ctx.attach(
        chat.decode({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}, {})
    )
    screen = hooks.FirewallCall()
    ctx.stages = (screen,)
    await hooks.screen_request(ctx, screen)
    plan = relay.Plan(
        upstream=UpstreamRequest(url="http://upstream", body=b"", stream=True),
        provider=SimpleNamespace(StreamDecoder=Decoder),  # type: ignore[arg-type]
        passthrough=None,
    )
    out = b"".join([chunk async for chunk in relay._translate_events(ctx, Upstream(chunks), plan)])  # type: ignore[arg-type]
    # The database work above ran in asgiref's worker thread: close its connection.
    await sync_to_async(connections.close_all)()
    return out.decode(), ctx, rows


def _policy(workspace, action: str) -> None:
    rule = RuleData(
        name="aws", matcher="detector", detector="aws_access_key", scopes=["response"], action=action
    )
    policy_create(workspace=workspace, actor=Actor(label="t"), name="p", rules=[rule])


async def test_stream_with_response_rules_is_forced_onto_the_translation_path(workspace, monkeypatch):
    await sync_to_async(_policy)(workspace, "mask")
    secret_pieces = ["key: AKIAIOSF", "ODNN7EX", "AMPLE ok", "<end>"]
    out, ctx, rows = await run(workspace, secret_pieces, monkeypatch)
    assert ctx.force_translate is True
    text = "".join(part[2:] for part in out.split("|") if part.startswith("T:"))
    assert text == "key: [AWS_KEY_1] ok"
    assert SECRET not in out
    # The record is complete by the time the usage-bearing event gets Junction's extras.
    assert "firewall" in out.split("U:")[1]
    (row,) = rows
    assert row["extra"]["firewall"] == [
        {"rule_id": row["extra"]["firewall"][0]["rule_id"], "rule": "aws", "policy_id":
         row["extra"]["firewall"][0]["policy_id"], "scope": "response", "action": "mask", "count": 1}
    ]  # fmt: skip
    assert SECRET not in str(row)


async def test_stream_block_ends_with_an_error_event_and_withholds_the_secret(workspace, monkeypatch):
    await sync_to_async(_policy)(workspace, "block")
    out, _, rows = await run(workspace, ["fine so far. key: AKIAIOSF", "ODNN7EXAMPLE", "<end>"], monkeypatch)
    assert SECRET not in out and "AKIAIOSF" not in out
    assert "E:firewall_blocked:Blocked by firewall rule 'aws'" in out
    text = "".join(part[2:] for part in out.split("|") if part.startswith("T:"))
    assert text.startswith("fine so far. key:")  # text before the match still flows
    (row,) = rows
    assert row["error_type"] == "firewall_blocked" and row["output_tokens"] == 5
