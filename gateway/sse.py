"""Server-sent events: an incremental parser that tolerates any byte split,
and the encoder. Used for every upstream stream and every client stream."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SSEEvent:
    event: str | None
    data: str
    raw: bytes  # the event's bytes as received, terminator included


class SSEParser:
    """Feed bytes as they arrive; get back the events completed so far."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buf = self._buf + chunk
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
            # A lone trailing \r may be the first half of \r\n still in flight.
            if buf.endswith(b"\r"):
                self._buf = buf
                return self._split(buf[:-1], keep=b"\r")
            buf = buf.replace(b"\r", b"\n")
        return self._split(buf, keep=b"")

    def _split(self, buf: bytes, keep: bytes) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            block = buf[start : end + 2]
            start = end + 2
            event = parse_block(block)
            if event is not None:
                events.append(event)
        self._buf = buf[start:] + keep
        return events

    def close(self) -> list[SSEEvent]:
        """Flush a final event that lacked its blank-line terminator."""
        rest, self._buf = self._buf.rstrip(b"\r\n"), b""
        if not rest:
            return []
        event = parse_block(rest + b"\n\n")
        return [event] if event is not None else []


def parse_block(block: bytes) -> SSEEvent | None:
    event: str | None = None
    data: list[str] = []
    for line in block.decode("utf-8", errors="replace").split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if event is None and not data:
        return None
    return SSEEvent(event=event, data="\n".join(data), raw=block)


def encode_event(data: bytes | str, event: str | None = None) -> bytes:
    if isinstance(data, str):
        data = data.encode()
    if event:
        return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"


DONE = b"data: [DONE]\n\n"
