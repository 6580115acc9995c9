"""The firewall on streams: masking at every split point equals masking the
whole text; the hold-back never exceeds the window; a block never lets the
matched text out; canonical events are filtered in order."""

from __future__ import annotations

import random

import pytest

from firewall.engine import Action, Blocked, Detector, EventFilter, Scope, StreamMasker, filter_events
from gateway.canonical import (
    Finish,
    FinishReason,
    ResponseStart,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
    UsageEvent,
)
from tests.firewall.helpers import rule, session

FIXTURE = (
    "Sure! Write to jane.doe@example.com or call +44 20 7946 0958. The key AKIAIOSFODNN7EXAMPLE "
    "and card 4111 1111 1111 1111 belong to Project Falcon; again jane.doe@example.com. "
    "Ticket INC-20931 is open. Bye."
)


def masking_rules():
    return (
        rule(id=1, name="email", detector=Detector.EMAIL),
        rule(id=2, name="phone", detector=Detector.PHONE),
        rule(id=3, name="aws", detector=Detector.AWS_ACCESS_KEY),
        rule(id=4, name="card", detector=Detector.PAYMENT_CARD),
        rule(id=5, name="codename", substring="project falcon", ignore_case=True, label="codename"),
        rule(id=6, name="ticket", regex=r"INC-[0-9]{4,6}", action=Action.WARN),
    )


def whole(text: str) -> tuple[str, list[dict]]:
    s = session(*masking_rules())
    return s.process(text, Scope.RESPONSE), sorted(s.records(), key=lambda r: r["rule_id"])


def streamed(pieces: list[str]) -> tuple[str, list[dict]]:
    s = session(*masking_rules())
    masker = StreamMasker(s, Scope.RESPONSE)
    out = "".join(masker.feed(p) for p in pieces) + masker.flush()
    return out, sorted(s.records(), key=lambda r: r["rule_id"])


def test_fixture_is_masked_as_expected():
    masked, records = whole(FIXTURE)
    assert masked == (
        "Sure! Write to [EMAIL_1] or call [PHONE_1]. The key [AWS_KEY_1] "
        "and card [CARD_1] belong to [CODENAME_1]; again [EMAIL_1]. "
        "Ticket INC-20931 is open. Bye."
    )
    assert [(r["rule"], r["count"]) for r in records] == [
        ("email", 2), ("phone", 1), ("aws", 1), ("card", 1), ("codename", 1), ("ticket", 1),
    ]  # fmt: skip


def test_every_two_way_split_point_masks_like_the_whole_text():
    expected = whole(FIXTURE)
    for i in range(len(FIXTURE) + 1):
        assert streamed([FIXTURE[:i], FIXTURE[i:]]) == expected, f"split at {i}"


def test_character_by_character_and_random_chunkings():
    expected = whole(FIXTURE)
    assert streamed(list(FIXTURE)) == expected
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(FIXTURE)), rng.randint(2, 12)))
        pieces = [FIXTURE[a:b] for a, b in zip([0, *cuts], [*cuts, len(FIXTURE)], strict=True)]
        assert streamed(pieces) == expected, cuts


def test_hold_back_never_exceeds_the_window():
    s = session(*masking_rules())
    masker = StreamMasker(s, Scope.RESPONSE)
    clean = "lorem ipsum dolor sit amet " * 40
    released = 0
    for i, ch in enumerate(clean, start=1):
        released += len(masker.feed(ch))
        assert i - released <= masker.hold
    assert released + len(masker.flush()) == len(clean)
    # The window is the longest match any rule in play can make (here an
    # e-mail address), plus two characters of context.
    longest = max(r.matcher.max_length for r in s.engine.rules if r.action is not Action.WARN)
    assert masker.hold == longest - 1 + 2


def test_warn_only_rules_hold_nothing_back():
    s = session(rule(detector=Detector.EMAIL, action=Action.WARN))
    masker = StreamMasker(s, Scope.RESPONSE)
    assert masker.feed("mail a@exam") == "mail a@exam"
    assert masker.feed("ple.com now") == "ple.com now"
    masker.flush()
    assert s.records()[0]["count"] == 1


@pytest.mark.parametrize("split", range(0, 40, 3))
def test_block_on_a_stream_releases_none_of_the_secret(split):
    s = session(rule(name="no aws", detector=Detector.AWS_ACCESS_KEY, action=Action.BLOCK))
    masker = StreamMasker(s, Scope.RESPONSE)
    text = "the key is AKIAIOSFODNN7EXAMPLE, keep it"
    released = ""
    with pytest.raises(Blocked) as info:
        for piece in (text[:split], text[split:]):
            released += masker.feed(piece)
        released += masker.flush()
    assert "AKIA" not in released
    assert info.value.rule == "no aws"


def _events_text(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_event_filter_masks_text_and_tool_arguments_and_keeps_order():
    s = session(rule(detector=Detector.EMAIL, scopes=frozenset({Scope.RESPONSE})))
    f = EventFilter(s, on_block=lambda exc: exc)
    events = [
        ResponseStart(id="r1", model="m"),
        *[TextDelta(c) for c in "Mail jane@example.com please. "],
        ToolCallStart(index=0, call_id="c1", name="send"),
        *[ToolCallDelta(0, piece) for piece in ('{"to": "ja', "ne@exa", 'mple.com"}')],
        ToolCallDone(index=0),
        Finish(FinishReason.TOOL_CALLS),
        UsageEvent(Usage(input_tokens=3, output_tokens=4)),
    ]
    out = []
    for event in events:
        out.extend(f.feed([event]))
    out.extend(f.close())
    assert isinstance(out[0], ResponseStart)
    assert _events_text(out) == "Mail [EMAIL_1] please. "
    args = "".join(e.arguments for e in out if isinstance(e, ToolCallDelta))
    assert args == '{"to": "[EMAIL_1]"}'
    kinds = [type(e).__name__ for e in out]
    # All text precedes the tool call; the call's deltas precede its done; finish and usage last.
    assert kinds.index("ToolCallStart") > max(i for i, k in enumerate(kinds) if k == "TextDelta")
    assert kinds[-3:] == ["ToolCallDone", "Finish", "UsageEvent"]


def test_event_filter_block_ends_the_stream_with_an_error_but_keeps_usage():
    s = session(rule(name="cards", detector=Detector.PAYMENT_CARD, action=Action.BLOCK))
    f = EventFilter(s, on_block=lambda exc: f"blocked:{exc.rule}")
    out = f.feed([TextDelta("pay with 4111 1111 "), TextDelta("1111 1111 now")])
    out += f.feed([Finish(FinishReason.STOP), UsageEvent(Usage(output_tokens=9))])
    assert not any("4111" in e.text for e in out if isinstance(e, TextDelta))
    errors = [e for e in out if isinstance(e, StreamError)]
    assert [e.error for e in errors] == ["blocked:cards"]
    assert isinstance(out[-1], UsageEvent) and not any(isinstance(e, Finish) for e in out)


async def test_filter_events_async():
    s = session(rule(substring="secret"))

    async def source():
        for piece in ("top se", "cret ", "here"):
            yield TextDelta(piece)
        yield Finish(FinishReason.STOP)

    out = [e async for e in filter_events(source(), s, on_block=lambda exc: exc)]
    assert _events_text(out) == "top [REDACTED_1] here"
    assert isinstance(out[-1], Finish)


def test_event_filter_every_split_point_of_text_and_tool_arguments():
    text = "Reach jane@example.com or AKIAIOSFODNN7EXAMPLE now."
    args = '{"to": "jane@example.com", "key": "AKIAIOSFODNN7EXAMPLE"}'
    rules = (rule(id=1, detector=Detector.EMAIL), rule(id=2, detector=Detector.AWS_ACCESS_KEY))
    for i in range(len(text) + 1):
        j = min(i, len(args))
        f = EventFilter(session(*rules), on_block=lambda exc: exc)
        out = f.feed([TextDelta(text[:i]), TextDelta(text[i:]), ToolCallStart(0, "c", "send")])
        out += f.feed([ToolCallDelta(0, args[:j]), ToolCallDelta(0, args[j:]), ToolCallDone(0)])
        out += f.feed([Finish(FinishReason.TOOL_CALLS)])
        assert _events_text(out) == "Reach [EMAIL_1] or [AWS_KEY_1] now.", i
        sent = "".join(e.arguments for e in out if isinstance(e, ToolCallDelta))
        assert sent == '{"to": "[EMAIL_1]", "key": "[AWS_KEY_1]"}', i


def test_hostile_stream_finishes_within_the_bound():
    import time

    s = session(
        rule(id=1, regex=r"(a+)+b"),
        rule(id=2, regex=r"(x|x)*y", action=Action.BLOCK),
        *[rule(id=10 + i, detector=d) for i, d in enumerate(Detector)],
    )
    masker = StreamMasker(s, Scope.RESPONSE)
    started = time.perf_counter()
    for _ in range(2_000):
        masker.feed("a" * 25 + "x" * 25)
    masker.flush()
    assert time.perf_counter() - started < 10.0


def test_overlapping_matches_count_the_same_on_a_stream_at_every_split():
    rules = (
        rule(id=1, name="a", substring="alpha beta"),
        rule(id=2, name="b", substring="beta gamma delta epsilon"),
    )
    text = "x alpha beta gamma delta epsilon y"
    s = session(*rules)
    expected = (s.process(text, Scope.RESPONSE), s.records())
    assert expected[0] == "x [REDACTED_1] gamma delta epsilon y"
    assert [r["rule"] for r in expected[1]] == ["a"]  # "b" lost the overlap
    for i in range(len(text) + 1):
        s = session(*rules)
        masker = StreamMasker(s, Scope.RESPONSE)
        out = masker.feed(text[:i]) + masker.feed(text[i:]) + masker.flush()
        assert (out, s.records()) == expected, i
