"""Streaming multipart/form-data over the ASGI ``receive`` channel.

The /v1 handler does not read a multipart body (``gateway/asgi.py`` leaves
``receive`` in the scope under ``RECEIVE_KEY``); a view that takes uploads
calls ``receive_form``, which feeds each ASGI message to python-multipart's
streaming parser as it arrives. Text fields are kept (small, bounded); each
file part is written to a temporary file on disk as its bytes arrive, hashed
and sniffed on the way, so a body is never held whole in memory. Image
uploads (issue 15's edits) use the same function.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from files.sniff import Sniffer

RECEIVE_KEY = "junction.receive"
MAX_FIELD_BYTES = 64 * 1024  # all text fields together
MAX_PARTS = 32

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class FormError(Exception):
    """A malformed form; ``param`` names the field at fault when one is."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class FileTooLarge(Exception):
    def __init__(self, param: str, limit: int) -> None:
        super().__init__(param)
        self.param = param
        self.limit = limit


class ClientLeft(Exception):
    """The client disconnected before its body was complete."""


@dataclass(slots=True)
class ReceivedFile:
    """One file part, on local disk until a service moves it to storage."""

    field: str
    filename: str
    path: str
    size: int
    sha256: str
    sniffer: Sniffer

    def content_type(self) -> str | None:
        return self.sniffer.content_type(self.filename)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@dataclass(slots=True)
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, ReceivedFile] = field(default_factory=dict)
    # Fields that may carry several files (the images API's ``image[]``), in order.
    repeated: dict[str, list[ReceivedFile]] = field(default_factory=dict)

    def discard(self) -> None:
        for received in self.files.values():
            received.discard()
        for many in self.repeated.values():
            for received in many:
                received.discard()


def is_multipart(headers: dict[str, str]) -> bool:
    return headers.get("content-type", "").lower().startswith("multipart/form-data")


def scope_is_multipart(scope: MutableMapping[str, Any]) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value[:19].lower() == b"multipart/form-data"
    return False


def receive_from_body(body: bytes) -> Receive:
    """A ``receive`` that replays an already-read body (a handler that read it)."""
    sent = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class _Builder:
    """python-multipart's callbacks: collects fields, writes file parts to disk."""

    def __init__(
        self,
        *,
        file_fields: frozenset[str],
        max_file_bytes: int,
        tmp_dir: str,
        repeated_file_fields: frozenset[str] = frozenset(),
    ) -> None:
        self.form = Form()
        self.file_fields = file_fields | repeated_file_fields
        self.repeated_file_fields = repeated_file_fields
        self.max_file_bytes = max_file_bytes
        self.tmp_dir = tmp_dir
        self.field_bytes = 0
        self.parts = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._name = ""
        self._value = bytearray()
        self._file: Any = None
        self._received: ReceivedFile | None = None
        self._hash: Any = None
        self.ended = False  # the closing boundary was seen

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def end(self) -> None:
        self.ended = True

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise FormError(f"The form has more than {MAX_PARTS} parts.")
        self._headers = {}
        self._value = bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        name = self._header_name.decode("latin-1").lower()
        self._headers[name] = self._header_value.decode("utf-8", errors="replace")
        self._header_name = bytearray()
        self._header_value = bytearray()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        name = options.get(b"name")
        if name is None:
            raise FormError("A form part has no name.")
        self._name = name.decode("utf-8", errors="replace")
        filename = options.get(b"filename")
        if filename is None:
            if self._name in self.file_fields:
                raise FormError(f"'{self._name}' must be a file.", param=self._name)
            return
        if self._name not in self.file_fields:
            raise FormError(f"Unexpected file in form field '{self._name}'.", param=self._name)
        if self._name in self.form.files and self._name not in self.repeated_file_fields:
            raise FormError(f"More than one file in '{self._name}'.", param=self._name)
        handle = tempfile.NamedTemporaryFile(dir=self.tmp_dir, prefix="upload-", delete=False)  # noqa: SIM115
        self._file = handle
        self._hash = hashlib.sha256()
        self._received = ReceivedFile(
            field=self._name,
            filename=os.path.basename(filename.decode("utf-8", errors="replace").replace("\\", "/")),
            path=handle.name,
            size=0,
            sha256="",
            sniffer=Sniffer(),
        )
        if self._name in self.repeated_file_fields:
            self.form.repeated.setdefault(self._name, []).append(self._received)
        else:
            self.form.files[self._name] = self._received

    def part_data(self, data: bytes, start: int, end: int) -> None:
        received = self._received
        if received is None:
            self.field_bytes += end - start
            if self.field_bytes > MAX_FIELD_BYTES:
                raise FormError(f"The form's text fields exceed {MAX_FIELD_BYTES} bytes.")
            self._value += data[start:end]
            return
        chunk = memoryview(data)[start:end]
        received.size += len(chunk)
        if received.size > self.max_file_bytes:
            raise FileTooLarge(received.field, self.max_file_bytes)
        self._file.write(chunk)
        self._hash.update(chunk)
        received.sniffer.feed(chunk)

    def part_end(self) -> None:
        if self._received is not None:
            self._received.sha256 = self._hash.hexdigest()
            self._file.close()
            self._file = self._received = self._hash = None
            return
        if self._name in self.form.fields:
            raise FormError(f"Form field '{self._name}' is given more than once.", param=self._name)
        try:
            self.form.fields[self._name] = self._value.decode("utf-8")
        except UnicodeDecodeError:
            raise FormError(f"Form field '{self._name}' is not UTF-8 text.", param=self._name) from None

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
        self.form.discard()


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise FormError("Expected a multipart/form-data body with a boundary.")
    return boundary


async def receive_form(
    receive: Receive,
    *,
    content_type: str,
    file_fields: frozenset[str],
    max_file_bytes: int,
    tmp_dir: str,
    idle_seconds: float = 30.0,
    repeated_file_fields: frozenset[str] = frozenset(),
) -> Form:
    """Read a multipart body from ``receive``; file parts go to ``tmp_dir``.

    Raises ``FormError`` (malformed), ``FileTooLarge`` (a file part passed
    ``max_file_bytes``; the rest of the body is not read), ``ClientLeft``, or
    ``TimeoutError`` when nothing arrived for ``idle_seconds``.
    Whatever was written is removed when it raises; on success the caller
    owns the temporary files (``Form.discard``). A field in
    ``repeated_file_fields`` may hold several files (``Form.repeated``)."""
    builder = _Builder(
        file_fields=file_fields,
        max_file_bytes=max_file_bytes,
        tmp_dir=tmp_dir,
        repeated_file_fields=repeated_file_fields,
    )
    parser = MultipartParser(boundary_of(content_type), builder.callbacks())  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(idle_seconds) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientLeft
                chunk = message.get("body", b"")
                if chunk:
                    parser.write(chunk)
                if not message.get("more_body", False):
                    break
                deadline.reschedule(loop.time() + idle_seconds)
        parser.finalize()
        if not builder.ended or builder.parts == 0:
            raise FormError("The multipart body ended early.")
    except BaseException as exc:
        builder.abort()
        if isinstance(exc, (FormError, FileTooLarge, ClientLeft, TimeoutError)):
            raise
        if isinstance(exc, Exception):
            raise FormError(f"The multipart body could not be parsed: {exc}.") from None
        raise
    return builder.form
