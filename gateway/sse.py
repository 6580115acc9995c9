"""Server-sent events: an incremental parser that tolerates any byte split,
and the encoder. Used for every upstream stream and every client stream."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SSEEvent:
    event: str | None
    data: str
    raw: bytes  # the event's bytes as received, terminator included


class LazyEvent:
    """An event's raw bytes, parsed only if someone reads ``event`` or ``data``.
    The same-wire relay forwards most events untouched, so most are never parsed."""

    __slots__ = ("_parsed", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._parsed: SSEEvent | None = None

    def _parse(self) -> SSEEvent:
        if self._parsed is None:
            self._parsed = parse_block(self.raw) or SSEEvent(event=None, data="", raw=self.raw)
        return self._parsed

    @property
    def event(self) -> str | None:
        return self._parse().event

    @property
    def data(self) -> str:
        return self._parse().data


class SSEParser:
    """Feed bytes as they arrive; get back the events completed so far."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        return [e for e in map(parse_block, self.feed_blocks(chunk)) if e is not None]

    def feed_lazy(self, chunk: bytes) -> list[LazyEvent]:
        return [LazyEvent(block) for block in self.feed_blocks(chunk)]

    def feed_blocks(self, chunk: bytes) -> list[bytes]:
        """The complete event blocks (terminator included) in what has arrived."""
        if (
            not self._buf
            and chunk.endswith(b"\n\n")
            and chunk.find(b"\n\n") == len(chunk) - 2
            and b"\r" not in chunk
        ):
            return [chunk]  # the usual read: exactly one whole event (LF line ends), nothing pending
        buf = self._buf + chunk
        keep = b""
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
            if buf.endswith(b"\r"):
                # A lone trailing \r may be the first half of \r\n still in flight.
                buf, keep = buf[:-1], b"\r"
            buf = buf.replace(b"\r", b"\n")
        blocks: list[bytes] = []
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            blocks.append(buf[start : end + 2])
            start = end + 2
        self._buf = buf[start:] + keep
        return blocks

    def close_blocks(self) -> list[bytes]:
        """Flush a final event that lacked its blank-line terminator."""
        rest, self._buf = self._buf.rstrip(b"\r\n"), b""
        return [rest + b"\n\n"] if rest else []

    def close(self) -> list[SSEEvent]:
        return [e for e in map(parse_block, self.close_blocks()) if e is not None]

    def close_lazy(self) -> list[LazyEvent]:
        return [LazyEvent(block) for block in self.close_blocks()]


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
