"""The firewall's stage in the /v1 pipeline. ``gateway.pipeline`` calls these
few functions; everything else about the firewall stays in this app.

* ``screen_request(ctx)`` after the request is decoded: metadata and prompt
  scopes (block -> 400 ``firewall_blocked`` before any upstream call; mask ->
  the raw body and the canonical items are both rewritten), and arms the
  response scope for the relay.
* ``screen_passed_answer(ctx, answer)`` on a pass-through JSON answer.
* The translation path runs ``ctx.response_transforms`` (non-streaming) and
  ``ctx.event_filters`` (streaming), which ``screen_request`` registers.
* ``extras(ctx)`` / ``set_header(ctx, response)``: what the caller sees.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from firewall.engine import Blocked, EventFilter, Scope, Session
from firewall.engine.texts import process_answer, process_answer_body, process_request
from firewall.runtime import engine_for
from gateway.canonical import CanonicalResponse, Event
from gateway.context import CallContext
from gateway.dialects.base import PassedAnswer
from gateway.errors import ErrorType, GatewayError

HEADER = "x-junction-firewall"


class Guard:
    """One call's firewall: the session and the response-scope hooks."""

    def __init__(self, ctx: CallContext, session: Session) -> None:
        self.ctx = ctx
        self.session = session
        self.events = EventFilter(session, on_block=self.blocked_error)

    def sync(self) -> None:
        records = self.session.records()
        if records:
            self.ctx.extra["firewall"] = records
        if self.session.scan_truncated:
            self.ctx.extra["firewall_scan_truncated"] = True

    def blocked_error(self, exc: Blocked) -> GatewayError:
        self.sync()
        return GatewayError(
            ErrorType.FIREWALL_BLOCKED,
            f"Blocked by firewall rule '{exc.rule}' ({exc.scope} scope).",
            code="firewall_blocked",
            rule_trace=self.session.records(),
            headers={HEADER: header_value(self.session.records())},
        )

    def filter_events(self, events: list[Event]) -> list[Event]:
        out = self.events.feed(events)
        self.sync()
        return out

    def transform_response(self, resp: CanonicalResponse) -> CanonicalResponse:
        try:
            return process_answer(self.session, resp)
        except Blocked as exc:
            raise self.blocked_error(exc) from None
        finally:
            self.sync()


def header_value(records: list[dict[str, Any]]) -> str:
    """``rule=<id>;scope=<scope>;action=<action>;count=<n>``, comma-separated.
    Rule ids, not names: header values must stay ASCII."""
    return ", ".join(
        f"rule={r['rule_id']};scope={r['scope']};action={r['action']};count={r['count']}" for r in records
    )


async def screen_request(ctx: CallContext) -> None:
    if ctx.principal is None or ctx.request is None:
        return
    engine = await engine_for(ctx.principal.workspace_id)
    if engine.empty:
        return
    session = Session(engine, scan_budget=settings.FIREWALL_MAX_SCAN_CHARS)
    guard = Guard(ctx, session)
    try:
        process_request(session, ctx.request)
    except Blocked as exc:
        raise guard.blocked_error(exc) from None
    guard.sync()
    if engine.has(Scope.RESPONSE):
        ctx.firewall = guard
        ctx.response_transforms.append(guard.transform_response)
        ctx.event_filters.append(guard.filter_events)
        if ctx.request.stream:
            # Response-scope rules need the text of each delta: no byte pass-through.
            ctx.force_translate = True


def screen_passed_answer(ctx: CallContext, answer: PassedAnswer) -> None:
    """Response scope on a pass-through JSON answer: edit its texts in place
    (the relay then re-encodes it)."""
    guard: Guard | None = ctx.firewall
    if guard is None or ctx.request is None:
        return
    try:
        if process_answer_body(guard.session, str(ctx.request.dialect), answer.decoded):
            answer.edited = True
    except Blocked as exc:
        raise guard.blocked_error(exc) from None
    finally:
        guard.sync()


def extras(ctx: CallContext) -> dict[str, Any]:
    records = ctx.extra.get("firewall")
    return {"firewall": records} if records else {}


def set_header(ctx: CallContext, response: Any) -> None:
    records = ctx.extra.get("firewall")
    if records:
        response[HEADER] = header_value(records)
