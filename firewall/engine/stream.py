"""Firewall on streams: release text as soon as no possible match can still
cover it, and not before.

A match is at most ``W`` characters long (the largest ``max_length`` of the
rules in play), so once ``W - 1 + RIGHT_CONTEXT`` characters follow a
position, no match that is still to come can start there: text before that
cut is final. Matches that start before the cut are final too, so they are
counted, masked or blocked, and released whole. Time to first token grows by
at most that window; a secret split across chunks is still caught.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from firewall.engine.policy import CompiledRule, Found, Session, choose_masks
from firewall.engine.types import Action, Blocked, Scope
from gateway.canonical import (
    Event,
    Finish,
    ReasoningDelta,
    ReasoningDone,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    UsageEvent,
)

# Detectors look one or two characters past a match (is the next character a
# digit? does the domain go on?); hold those back too.
RIGHT_CONTEXT = 2
LEFT_CONTEXT = 2


class _Window:
    """Text not yet final, with a little released text kept for context."""

    def __init__(self, rules: tuple[CompiledRule, ...]) -> None:
        self.rules = rules
        self.hold = max((r.matcher.max_length for r in rules), default=1) - 1 + RIGHT_CONTEXT
        self.buf = ""
        self.left = ""

    def take(self, delta: str, *, final: bool) -> tuple[str, list[Found]]:
        """Append ``delta``; return the text that became final and the matches in it."""
        self.buf += delta
        n = len(self.buf)
        cut = n if final else n - self.hold
        if cut <= 0 or not self.buf:
            return "", []
        off = len(self.left)
        found: list[Found] = []
        for rule in self.rules:
            # A match starting before the cut ends within its rule's own
            # window: scan no further (short rules stay cheap beside long ones).
            end = n if final else min(n, cut + rule.matcher.max_length + RIGHT_CONTEXT)
            text = self.left + self.buf[:end]
            found.extend((s - off, e - off, rule) for s, e in rule.matcher.find(text) if off <= s < off + cut)
        # Overlaps resolve left to right, exactly as on a whole text; a chosen
        # match that runs past the cut is released whole (anything starting
        # inside it loses the overlap anyway).
        chosen = choose_masks(found)
        cut = max([cut, *(e for _, e, _ in chosen)])
        released, self.buf = self.buf[:cut], self.buf[cut:]
        self.left = (self.left + released)[-LEFT_CONTEXT:]
        return released, chosen


class StreamMasker:
    """Apply one scope's rules to a text that arrives in pieces.

    ``feed(delta)`` returns the text that may be released now (masked);
    ``flush()`` returns the rest at the end. Both raise ``Blocked`` when a
    block rule matches (before any of the matching text is released). Warn
    rules are counted on a shadow window and never delay the text.
    """

    def __init__(self, session: Session, scope: Scope) -> None:
        self.session = session
        self.scope = scope
        rules = session.engine.rules_for(scope)
        gating = tuple(r for r in rules if r.action is not Action.WARN)
        warn = tuple(r for r in rules if r.action is Action.WARN)
        self._gate = _Window(gating) if gating else None
        self._warn = _Window(warn) if warn else None

    @property
    def hold(self) -> int:
        return self._gate.hold if self._gate else 0

    def feed(self, delta: str) -> str:
        return self._step(delta, final=False)

    def flush(self) -> str:
        return self._step("", final=True)

    def _step(self, delta: str, *, final: bool) -> str:
        if self._warn is not None:
            _, found = self._warn.take(delta, final=final)
            for _, _, rule in found:
                self.session.count(rule, self.scope)
        if self._gate is None:
            return delta
        released, found = self._gate.take(delta, final=final)
        blocked: CompiledRule | None = None
        for _, _, rule in found:
            self.session.count(rule, self.scope)
            if rule.action is Action.BLOCK and blocked is None:
                blocked = rule
        if blocked is not None:
            raise Blocked(rule_id=blocked.spec.id, rule=blocked.spec.name, scope=self.scope)
        return self.session.apply_masks(released, [f for f in found if f[2].action is Action.MASK])


class EventFilter:
    """The response scope over canonical events: text, reasoning and each
    tool call's arguments each get their own ``StreamMasker``.

    A block ends the stream: a ``StreamError`` (built by ``on_block``) takes
    the place of the withheld text, and later content events are dropped
    (usage still passes, for billing)."""

    def __init__(self, session: Session, *, on_block: Any) -> None:
        self.session = session
        self.on_block = on_block
        self.blocked = False
        self._text = StreamMasker(session, Scope.RESPONSE)
        self._reasoning = StreamMasker(session, Scope.RESPONSE)
        self._reasoning_summary = True
        self._tools: dict[int, StreamMasker] = {}

    def __call__(self, events: Iterable[Event]) -> list[Event]:
        return self.feed(events)

    def feed(self, events: Iterable[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            if self.blocked:
                if isinstance(event, UsageEvent):
                    out.append(event)
                continue
            try:
                out.extend(self._one(event))
            except Blocked as exc:
                self.blocked = True
                out.append(StreamError(self.on_block(exc)))
        return out

    def close(self) -> list[Event]:
        """End of stream without a ``Finish``: release what is held."""
        if self.blocked:
            return []
        try:
            return self._flush_all()
        except Blocked as exc:
            self.blocked = True
            return [StreamError(self.on_block(exc))]

    def _one(self, event: Event) -> list[Event]:
        if isinstance(event, TextDelta):
            text = self._text.feed(event.text)
            return [TextDelta(text)] if text else []
        if isinstance(event, ReasoningDelta):
            self._reasoning_summary = event.is_summary
            text = self._reasoning.feed(event.text)
            return [ReasoningDelta(text, is_summary=event.is_summary)] if text else []
        if isinstance(event, ReasoningDone):
            return [*self._flush_reasoning(), event]
        if isinstance(event, ToolCallStart):
            # Text before a tool call is final once the call starts.
            out = self._flush_text()
            self._tools[event.index] = StreamMasker(self.session, Scope.RESPONSE)
            return [*out, event]
        if isinstance(event, ToolCallDelta):
            masker = self._tools.setdefault(event.index, StreamMasker(self.session, Scope.RESPONSE))
            args = masker.feed(event.arguments)
            return [ToolCallDelta(event.index, args)] if args else []
        if isinstance(event, ToolCallDone):
            finished = self._tools.pop(event.index, None)
            rest = finished.flush() if finished else ""
            return [ToolCallDelta(event.index, rest), event] if rest else [event]
        if isinstance(event, Finish | UsageEvent | StreamError):
            return [*self._flush_all(), event]
        return [event]

    def _flush_text(self) -> list[Event]:
        text = self._text.flush()
        return [TextDelta(text)] if text else []

    def _flush_reasoning(self) -> list[Event]:
        text = self._reasoning.flush()
        return [ReasoningDelta(text, is_summary=self._reasoning_summary)] if text else []

    def _flush_all(self) -> list[Event]:
        out = self._flush_reasoning() + self._flush_text()
        for index in sorted(self._tools):
            rest = self._tools[index].flush()
            if rest:
                out.append(ToolCallDelta(index, rest))
        self._tools.clear()
        return out


async def filter_events(
    events: AsyncIterator[Event], session: Session, *, on_block: Any
) -> AsyncIterator[Event]:
    """``EventFilter`` over an async stream of canonical events."""
    f = EventFilter(session, on_block=on_block)
    async for event in events:
        for out in f.feed([event]):
            yield out
    for out in f.close():
        yield out
