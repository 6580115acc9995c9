"""The files APIs of the fake upstreams, in their real wire formats:

- OpenAI ``POST /v1/files`` (multipart: ``purpose``, ``expires_after[...]``,
  ``file``) answering the file object; a Responses or Chat Completions
  request naming an id it does not hold gets OpenAI's 404
  ``No such File object: <id>``.
- Gemini's resumable upload: ``POST /upload/v1beta/files`` with
  ``X-Goog-Upload-Protocol: resumable`` and ``X-Goog-Upload-Command: start``
  answers an ``X-Goog-Upload-URL``; the bytes posted there with ``upload,
  finalize`` answer ``{"file": {...}}`` (name, uri, state ACTIVE,
  expirationTime 48 h on). A ``fileData.fileUri`` of this server that it does
  not hold gets Google's 403 PERMISSION_DENIED.

Each store records what it received (``uploads``: headers, fields and the
exact bytes) and can ``forget`` everything (an expired upstream copy).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.asgi import send_json


@dataclass
class Upload:
    path: str
    headers: dict[str, str]
    fields: dict[str, str]
    filename: str
    content_type: str
    data: bytes


async def read_raw(receive: Any) -> bytes:
    raw = b""
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body"):
            return raw


def headers_of(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode().lower(): v.decode() for k, v in scope["headers"]}


def parse_multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """A multipart/form-data body -> (text fields, file fields: name -> (filename, type, bytes))."""
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        meta: dict[str, str] = {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            meta[name.strip().lower()] = value.strip()
        params = dict(
            (k.strip(), v.strip().strip('"'))
            for k, _, v in (p.partition("=") for p in meta["content-disposition"].split(";")[1:])
        )
        if "filename" in params:
            files[params["name"]] = (params["filename"], meta.get("content-type", ""), data)
        else:
            fields[params["name"]] = data.decode()
    return fields, files


# ------------------------------------------------------------------ OpenAI


@dataclass
class OpenAIFiles:
    held: dict[str, Upload] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    fail: bool = False  # answer every upload with a 500

    def reset(self) -> None:
        self.held.clear()
        self.uploads.clear()
        self.fail = False

    def forget(self) -> None:
        self.held.clear()

    async def upload(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = headers_of(scope)
        fields, files = parse_multipart(await read_raw(receive), headers["content-type"])
        if self.fail:
            error = {
                "message": "The server had an error",
                "type": "server_error",
                "param": None,
                "code": None,
            }
            return await send_json(send, 500, {"error": error})
        if "file" not in files or fields.get("purpose") not in ("user_data", "assistants", "vision"):
            return await send_json(
                send,
                400,
                {
                    "error": {
                        "message": "Invalid upload",
                        "type": "invalid_request_error",
                        "param": "file",
                        "code": None,
                    }
                },
            )
        filename, content_type, data = files["file"]
        upload = Upload(scope["path"], headers, fields, filename, content_type, data)
        self.uploads.append(upload)
        file_id = f"file-{secrets.token_hex(11)}"
        self.held[file_id] = upload
        now = int(time.time())
        seconds = fields.get("expires_after[seconds]")
        await send_json(
            send,
            200,
            {
                "id": file_id,
                "object": "file",
                "bytes": len(data),
                "created_at": now,
                "filename": filename,
                "purpose": fields["purpose"],
                "status": "processed",
                "expires_at": now + int(seconds) if seconds else None,
                "status_details": None,
            },
        )

    def missing(self, body: dict[str, Any]) -> list[str]:
        """The file ids a Responses or Chat Completions body names that are not held."""
        ids: list[str] = []
        for item in body.get("input") if isinstance(body.get("input"), list) else body.get("messages") or []:
            content = item.get("content") if isinstance(item, dict) else None
            for part in content if isinstance(content, list) else []:
                if not isinstance(part, dict):
                    continue  # a malformed part (the fuzz tests send them): not a file
                if part.get("type") == "input_file" and part.get("file_id"):
                    ids.append(part["file_id"])
                if part.get("type") == "file" and (part.get("file") or {}).get("file_id"):
                    ids.append(part["file"]["file_id"])
        return [i for i in ids if i not in self.held]


# ------------------------------------------------------------------ Gemini


@dataclass
class GeminiFiles:
    held: dict[str, Upload] = field(default_factory=dict)  # "files/<id>" -> upload
    uploads: list[Upload] = field(default_factory=list)
    starts: list[dict[str, Any]] = field(default_factory=list)  # the start requests: headers and body
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)

    def reset(self) -> None:
        self.held.clear()
        self.uploads.clear()
        self.starts.clear()
        self.sessions.clear()

    def forget(self) -> None:
        self.held.clear()

    async def upload(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = headers_of(scope)
        raw = await read_raw(receive)
        query = parse_qs(scope.get("query_string", b"").decode())
        host = headers.get("host", "")
        if headers.get("x-goog-upload-command") == "start":
            if headers.get("x-goog-upload-protocol") != "resumable" or not headers.get("x-goog-api-key"):
                return await gemini_error(send, 400, "INVALID_ARGUMENT", "Bad upload start.")
            self.starts.append({"headers": headers, "body": json.loads(raw)})
            upload_id = secrets.token_hex(12)
            self.sessions[upload_id] = headers
            url = f"http://{host}/upload/v1beta/files?upload_id={upload_id}&upload_protocol=resumable"
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"x-goog-upload-url", url.encode()),
                        (b"x-goog-upload-status", b"active"),
                        (b"x-goog-upload-chunk-granularity", b"8388608"),
                        (b"content-length", b"0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        upload_id = (query.get("upload_id") or [""])[0]
        start = self.sessions.pop(upload_id, None)
        if start is None or headers.get("x-goog-upload-command") != "upload, finalize":
            return await gemini_error(send, 400, "INVALID_ARGUMENT", "Unknown upload session.")
        if (
            headers.get("x-goog-upload-offset") != "0"
            or str(len(raw)) != start["x-goog-upload-header-content-length"]
        ):
            return await gemini_error(send, 400, "INVALID_ARGUMENT", "Upload size mismatch.")
        mime = start["x-goog-upload-header-content-type"]
        name = f"files/{secrets.token_hex(6)}"
        upload = Upload(
            scope["path"], headers, {}, self.starts[-1]["body"]["file"]["display_name"], mime, raw
        )
        self.uploads.append(upload)
        self.held[name] = upload
        now = datetime.now(UTC)
        stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
        await send_json(
            send,
            200,
            {
                "file": {
                    "name": name,
                    "displayName": upload.filename,
                    "mimeType": mime,
                    "sizeBytes": str(len(raw)),
                    "createTime": now.strftime(stamp),
                    "updateTime": now.strftime(stamp),
                    "expirationTime": (now + timedelta(hours=48)).strftime(stamp),
                    "sha256Hash": base64.b64encode(hashlib.sha256(raw).hexdigest().encode()).decode(),
                    "uri": f"http://{host}/v1beta/{name}",
                    "state": "ACTIVE",
                    "source": "UPLOADED",
                }
            },
        )

    def missing(self, body: dict[str, Any], host: str) -> list[str]:
        """The ids of this server's file URIs that a request names and it does not hold."""
        gone = []
        for content in body.get("contents") or []:
            for part in content.get("parts") or []:
                uri = (part.get("fileData") or {}).get("fileUri", "")
                prefix = f"http://{host}/v1beta/"
                if uri.startswith(prefix) and uri.removeprefix(prefix) not in self.held:
                    gone.append(uri.rsplit("/", 1)[-1])
        return gone


async def gemini_error(send: Any, status: int, kind: str, message: str) -> None:
    await send_json(send, status, {"error": {"code": status, "message": message, "status": kind}})
