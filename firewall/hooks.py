"""The firewall's stage in the /v1 pipeline.

* ``screen_request(ctx, call, body_size=...)`` after the request is decoded:
  metadata and prompt scopes (block -> 400 ``firewall_blocked`` before any
  upstream call; mask -> the raw body and the canonical items are both
  rewritten). A large request is scanned on a worker thread
  (``FIREWALL_THREAD_SCAN_BYTES``) so one tenant's big prompts never stall
  the event loop other calls share. Arms the response scope.
* ``FirewallCall`` is the call's firewall state and its ``CallStage``: the
  relay hands it the canonical events (streams), the canonical answer, or a
  same-wire JSON answer (whose texts ``gateway.dialects.texts`` finds), and
  asks it for the answer's ``firewall`` field and ``x-junction-firewall``
  header.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from firewall.engine import Blocked, EventFilter, Scope, Session
from firewall.engine.texts import process_answer, process_answer_body, process_request
from firewall.runtime import engine_for
from gateway.canonical import CanonicalResponse, Event
from gateway.context import CallContext
from gateway.dialects.base import AnswerFields, PassedAnswer
from gateway.errors import ErrorType, GatewayError
from gateway.stage import CallStage

HEADER = "x-junction-firewall"


@dataclass(slots=True)
class FirewallCall(CallStage):
    """One call's firewall: its session, what it recorded, and the response scope."""

    session: Session | None = None
    events: EventFilter | None = None  # set when the response scope has rules
    records: list[dict[str, Any]] = field(default_factory=list)
    scan_truncated: bool = False

    def sync(self) -> None:
        assert self.session is not None
        records = self.session.records()
        if records:
            self.records = records
        if self.session.scan_truncated:
            self.scan_truncated = True

    def blocked_error(self, exc: Blocked) -> GatewayError:
        self.sync()
        return GatewayError(
            ErrorType.FIREWALL_BLOCKED,
            f"Blocked by firewall rule '{exc.rule}' ({exc.scope} scope).",
            code="firewall_blocked",
            rule_trace=self.records,
            headers={HEADER: header_value(self.records)},
        )

    # ------------------------------------------------------------ CallStage

    def answer_headers(self, ctx: CallContext, error: GatewayError | None) -> dict[str, str]:
        if error is not None or not self.records:
            return {}  # a refusal carries its own header (blocked_error)
        return {HEADER: header_value(self.records)}

    def answer_fields(self, ctx: CallContext, fields: AnswerFields) -> None:
        if self.records:
            fields["firewall"] = self.records

    def on_events(self, ctx: CallContext, events: list[Event]) -> list[Event]:
        if self.events is None:
            return events
        out = self.events.feed(events)
        self.sync()
        return out

    def on_answer(self, ctx: CallContext, answer: CanonicalResponse) -> CanonicalResponse:
        if self.events is None or self.session is None:
            return answer
        try:
            return process_answer(self.session, answer)
        except Blocked as exc:
            raise self.blocked_error(exc) from None
        finally:
            self.sync()

    def on_passed_answer(self, ctx: CallContext, answer: PassedAnswer) -> None:
        if self.events is None or self.session is None or ctx.request is None:
            return
        try:
            if process_answer_body(self.session, str(ctx.request.dialect), answer.decoded):
                answer.edited = True
        except Blocked as exc:
            raise self.blocked_error(exc) from None
        finally:
            self.sync()

    def log_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.records:
            extra["firewall"] = self.records
        if self.scan_truncated:
            extra["firewall_scan_truncated"] = True
        return extra


def header_value(records: list[dict[str, Any]]) -> str:
    """``rule=<id>;scope=<scope>;action=<action>;count=<n>``, comma-separated.
    Rule ids, not names: header values must stay ASCII."""
    return ", ".join(
        f"rule={r['rule_id']};scope={r['scope']};action={r['action']};count={r['count']}" for r in records
    )


async def screen_request(ctx: CallContext, call: FirewallCall, *, body_size: int = 0) -> None:
    if ctx.principal is None or ctx.request is None:
        return
    engine = await engine_for(ctx.principal.workspace_id)
    if engine.empty:
        return
    session = call.session = Session(engine, scan_budget=settings.FIREWALL_MAX_SCAN_CHARS)
    try:
        if body_size > settings.FIREWALL_THREAD_SCAN_BYTES:
            # Off the event loop: RE2 releases the GIL while it matches.
            await asyncio.to_thread(process_request, session, ctx.request)
        else:
            process_request(session, ctx.request)
    except Blocked as exc:
        raise call.blocked_error(exc) from None
    call.sync()
    if engine.has(Scope.RESPONSE):
        call.events = EventFilter(session, on_block=call.blocked_error)
        if ctx.request.stream:
            # Response-scope rules need the text of each delta: no byte pass-through.
            ctx.force_translate = True
