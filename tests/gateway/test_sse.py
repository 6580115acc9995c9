"""The SSE parser at every split point, and the lazy pass-through events."""

from __future__ import annotations

from gateway.sse import SSEParser

STREAM = (
    b": keep-alive\n\n"
    b'event: response.created\ndata: {"a": "h\xc3\xa9llo"}\n\n'
    b"data: line one\r\ndata: line two\r\n\r\n"
    b"data: [DONE]\n\n"
)


def parse_all(pieces: list[bytes]) -> list[tuple[str | None, str]]:
    parser = SSEParser()
    events = [e for piece in pieces for e in parser.feed(piece)] + parser.close()
    return [(e.event, e.data) for e in events]


def test_every_two_way_split_gives_the_same_events():
    whole = parse_all([STREAM])
    assert whole == [("response.created", '{"a": "héllo"}'), (None, "line one\nline two"), (None, "[DONE]")]
    for cut in range(1, len(STREAM)):
        assert parse_all([STREAM[:cut], STREAM[cut:]]) == whole, cut


def test_byte_by_byte():
    assert parse_all([bytes([b]) for b in STREAM]) == parse_all([STREAM])


def test_unterminated_last_event_is_flushed_on_close():
    assert parse_all([b"data: tail"]) == [(None, "tail")]


def test_lazy_events_keep_raw_bytes_and_parse_on_demand():
    parser = SSEParser()
    lazy = parser.feed_lazy(STREAM[:40]) + parser.feed_lazy(STREAM[40:]) + parser.close_lazy()
    assert b"".join(e.raw for e in lazy) == STREAM.replace(b"\r\n", b"\n")
    assert [e._parsed for e in lazy] == [None] * 4  # nothing parsed until read
    assert lazy[1].event == "response.created" and lazy[3].data == "[DONE]"
