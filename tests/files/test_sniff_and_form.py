"""Type sniffing and the streaming multipart parser, without a server."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from files import sniff
from files.multipart import FileTooLarge, FormError, receive_form
from tests.files import samples


def sniffed(data: bytes, name: str = "x", piece: int = 7) -> str | None:
    sniffer = sniff.Sniffer()
    for start in range(0, len(data), piece):
        sniffer.feed(data[start : start + piece])
    return sniffer.content_type(name)


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (samples.pdf(), "a.txt", sniff.PDF),
        (samples.PNG, "a.pdf", sniff.PNG),
        (samples.JPEG, "a", sniff.JPEG),
        (samples.GIF, "a", sniff.GIF),
        (samples.WEBP, "a", sniff.WEBP),
        (samples.ELF, "a.pdf", None),
        (b"MZ\x90\x00\x03\x00\x00\x00", "setup.pdf", None),
        (b"plain words", "a.pdf", sniff.TEXT),
        ("é".encode() * 10, "a", sniff.TEXT),  # UTF-8 split across every chunk boundary
        (b"\xef\xbb\xbfwith a BOM", "a", sniff.TEXT),
        (b"# Heading\n\nBody", "notes", sniff.MARKDOWN),
        (b"no markers at all", "notes.md", sniff.MARKDOWN),
        (b"x,y\n1,2\n3,4\n", "data", sniff.CSV),
        (b'{\n  "a": 1\n}\n', "a", sniff.JSON),
        (b"[1, 2]", "a", sniff.JSON),
        (b'{"a": 1}\n{"a": 2}\n', "a", sniff.JSONL),
        (b"text\x00with a NUL", "a.txt", None),
        (b"\xc3", "a.txt", None),  # cut inside a UTF-8 sequence
        (b"", "a.txt", None),
    ],
)
def test_sniffing(data, name, expected):
    assert sniffed(data, name) == expected


def _receive(body: bytes, piece: int):
    chunks = [body[i : i + piece] for i in range(0, len(body), piece)] or [b""]

    async def receive():
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    return receive


def _body(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


CT = "multipart/form-data; boundary=b0undary"


@pytest.mark.parametrize("piece", [1, 3, 64, 100_000])
async def test_form_streams_file_to_disk(tmp_path, piece):
    data = samples.pdf() * 3
    body = _body([("purpose", None, b"user_data"), ("file", "C:\\dir\\doc.pdf", data)])
    form = await receive_form(
        _receive(body, piece),
        content_type=CT,
        file_fields=frozenset({"file"}),
        max_file_bytes=10**6,
        tmp_dir=str(tmp_path),
    )
    received = form.files["file"]
    assert form.fields == {"purpose": "user_data"} and received.filename == "doc.pdf"
    assert Path(received.path).read_bytes() == data  # noqa: ASYNC240
    assert received.size == len(data) and received.sha256 == hashlib.sha256(data).hexdigest()
    assert received.content_type() == sniff.PDF
    form.discard()
    assert os.listdir(tmp_path) == []


async def test_form_too_large_leaves_nothing(tmp_path):
    body = _body([("file", "a.txt", b"x" * 101)])
    with pytest.raises(FileTooLarge):
        await receive_form(
            _receive(body, 10),
            content_type=CT,
            file_fields=frozenset({"file"}),
            max_file_bytes=100,
            tmp_dir=str(tmp_path),
        )
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (_body([("file", None, b"not a file")]), "file"),
        (_body([("other", "x.txt", b"x")]), "other"),
        (_body([("purpose", None, b"a"), ("purpose", None, b"b")]), "purpose"),
        (_body([("file", "a.txt", b"x")])[:-20], None),  # cut short
        (b"garbage", None),
    ],
)
async def test_form_errors(tmp_path, body, param):
    with pytest.raises(FormError) as caught:
        await receive_form(
            _receive(body, 5),
            content_type=CT,
            file_fields=frozenset({"file"}),
            max_file_bytes=100,
            tmp_dir=str(tmp_path),
        )
    assert caught.value.param == param
    assert os.listdir(tmp_path) == []
