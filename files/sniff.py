"""What a file is, from its bytes (never from its name or the client's header).

Binary types by their magic numbers; text when the whole content is UTF-8
with no control characters besides tab, line feed, carriage return and form
feed. Among text, the content decides JSON and JSON Lines; Markdown and CSV
are told apart from plain text by the extension, or by their look when the
extension says nothing. ``Sniffer`` is fed the upload chunk by chunk, so the
bytes are never held whole.
"""

from __future__ import annotations

import codecs
import re
from pathlib import PurePosixPath

import msgspec

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
TEXT = "text/plain"
MARKDOWN = "text/markdown"
CSV = "text/csv"
JSON = "application/json"
JSONL = "application/jsonl"

IMAGE_TYPES = frozenset({PNG, JPEG, GIF, WEBP})
TEXT_TYPES = frozenset({TEXT, MARKDOWN, CSV, JSON, JSONL})
# What the console calls each type.
SHORT_NAMES = {
    PDF: "PDF",
    PNG: "PNG",
    JPEG: "JPEG",
    GIF: "GIF",
    WEBP: "WebP",
    TEXT: "Text",
    MARKDOWN: "Markdown",
    CSV: "CSV",
    JSON: "JSON",
    JSONL: "JSON Lines",
}
ALL_TYPES = IMAGE_TYPES | TEXT_TYPES | {PDF}

HEAD_BYTES = 8192

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
# C0 controls other than \t \n \f \r, and DEL: a "text" file holding them is binary.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MARKDOWN = re.compile(r"^(#{1,6} |```|[-*] \[[ x]\] |> )|\[[^\]]+\]\([^)]+\)|\*\*[^*]+\*\*", re.MULTILINE)
_EXTENSIONS = {".md": MARKDOWN, ".markdown": MARKDOWN, ".csv": CSV}


def magic_type(head: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


class Sniffer:
    """Fed every chunk of a file in order; ``content_type`` says what it was."""

    __slots__ = ("_decoder", "_head", "_magic", "_text", "size")

    def __init__(self) -> None:
        self._head = bytearray()
        self._magic: str | None = None
        self._text = True
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.size = 0

    def feed(self, chunk: bytes | memoryview) -> None:
        self.size += len(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
            if self._magic is None and len(self._head) >= 12:
                self._magic = magic_type(bytes(self._head))
        if self._magic is None and self._text:
            try:
                if _CONTROL.search(self._decoder.decode(chunk)):
                    self._text = False
            except UnicodeDecodeError:
                self._text = False

    def content_type(self, filename: str) -> str | None:
        """The sniffed type, or None when the content is none of the known types."""
        head = bytes(self._head)
        if self._magic is None and len(head) < 12:
            self._magic = magic_type(head)
        if self._magic is not None:
            return self._magic
        if not self._text or self.size == 0:
            return None
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None  # ends inside a UTF-8 sequence
        return text_type(head.decode("utf-8-sig", errors="ignore"), filename)


def text_type(head: str, filename: str) -> str:
    stripped = head.lstrip(" \t\r\n")
    if stripped[:1] in ("{", "["):
        first, _, rest = stripped.partition("\n")
        try:
            first_value = msgspec.json.decode(first)
        except msgspec.DecodeError:
            return JSON  # a value spread over lines (or cut off by the head): JSON
        if isinstance(first_value, dict) and rest.strip():
            return JSONL
        return JSON
    by_name = _EXTENSIONS.get(PurePosixPath(filename).suffix.lower())
    if by_name is not None:
        return by_name
    if _MARKDOWN.search(stripped):
        return MARKDOWN
    if _looks_like_csv(stripped):
        return CSV
    return TEXT


def _looks_like_csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:5] if line.strip()]
    if len(lines) < 2:
        return False
    commas = lines[0].count(",")
    return commas > 0 and all(line.count(",") == commas for line in lines[1:-1] or lines[1:])
