"""The stage protocol: how a stage app (billing, firewall, routing) takes part
in a /v1 call after accepting it.

The pipeline (``gateway.pipeline.model_call``) creates one ``CallStage`` per
app for each call -- the app's typed state for that call -- and lists them on
``CallContext.stages``. The relay calls them, in that order, at fixed points;
each method's default does nothing, so a stage implements only its own:

``answer_headers``  the answer's (or error's) headers are being built
``answer_fields``   Junction's fields for the answer body / the usage-bearing
                    event (``AnswerFields``; the dialect or provider writes them)
``on_events``       each batch of canonical events on the translation path
``on_answer``       a translated non-streaming answer
``on_passed_answer`` a same-wire JSON answer, decoded once (a stage that
                    edits it finds its texts with ``gateway.dialects.texts``
                    and sets ``edited``)
``finish``          the call is over (once; billing settles here)
``log_extra``       the stage's part of the log row's ``extra``

A stage never parses wire bytes: dialects and providers do that, asked
through these methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.canonical import CanonicalResponse, Event
from gateway.dialects.base import AnswerFields, PassedAnswer
from gateway.errors import GatewayError

if TYPE_CHECKING:  # annotations only: the context imports this module
    from gateway.context import CallContext


class CallStage:
    __slots__ = ()

    def answer_headers(self, ctx: CallContext, error: GatewayError | None) -> dict[str, str]:
        return {}

    def answer_fields(self, ctx: CallContext, fields: AnswerFields) -> None:
        return None

    def on_events(self, ctx: CallContext, events: list[Event]) -> list[Event]:
        return events

    def on_answer(self, ctx: CallContext, answer: CanonicalResponse) -> CanonicalResponse:
        return answer

    def on_passed_answer(self, ctx: CallContext, answer: PassedAnswer) -> None:
        return None

    def finish(self, ctx: CallContext) -> None:
        return None

    def log_extra(self) -> dict[str, Any]:
        return {}
