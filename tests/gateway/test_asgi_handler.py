"""The /v1 ASGI handler's own request cycle: signals, disconnects, streamed chunks."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.core import signals
from django.db import connection

from gateway import dbuse
from gateway.asgi import DisconnectWatcher
from gateway.models import RequestLog
from tests.helpers import wait_for_logs


class SignalThreads:
    """Which thread each request signal ran on, in order."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []

    def on_started(self, **kwargs) -> None:
        self.started.append(threading.get_ident())

    def on_finished(self, **kwargs) -> None:
        self.finished.append(threading.get_ident())

    def wait_finished(self, count: int) -> None:
        deadline = time.monotonic() + 5
        while len(self.finished) < count and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture
def signal_threads():
    seen = SignalThreads()
    signals.request_started.connect(seen.on_started, dispatch_uid="test-started")
    signals.request_finished.connect(seen.on_finished, dispatch_uid="test-finished")
    yield seen
    signals.request_started.disconnect(dispatch_uid="test-started")
    signals.request_finished.disconnect(dispatch_uid="test-finished")


@pytest.mark.django_db(transaction=True)
def test_request_signals_run_once_and_where_the_database_was_used(
    junction, api_key, signal_threads, settings
):
    settings.CATALOG_TTL = settings.API_KEY_LOCAL_TTL = 60.0  # the second request finds both cached
    headers = {"authorization": f"Bearer {api_key.secret}"}
    with httpx.Client(base_url=junction.url, headers=headers, timeout=10) as http:
        # A cold key cache: the key is read from the database on asgiref's thread.
        assert http.get("/v1/models").status_code == 200
        signal_threads.wait_finished(1)  # request_finished follows the answer's last byte
        # Cached now: this request touches no database connection.
        assert http.get("/v1/models").status_code == 200
        signal_threads.wait_finished(2)
    loop_thread = signal_threads.started[0]
    assert signal_threads.started == [loop_thread, loop_thread]
    assert len(signal_threads.finished) == 2
    # close_old_connections ran on the thread that holds the connection ...
    assert signal_threads.finished[0] != loop_thread
    # ... and on the event loop when there was nothing to close.
    assert signal_threads.finished[1] == loop_thread


@pytest.mark.django_db(transaction=True)
async def test_database_use_is_recorded_per_thread():
    def query() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return threading.get_ident()

    used, token = dbuse.track()
    try:
        worker = await sync_to_async(query)()
    finally:
        dbuse.untrack(token)
    assert used == {worker}
    # Untracked contexts record nothing (and fail nothing).
    await sync_to_async(query)()
    assert used == {worker}


async def test_disconnect_watcher_cancels_the_request_and_cleans_up():
    disconnected = asyncio.Event()

    async def receive():
        await disconnected.wait()
        return {"type": "http.disconnect"}

    watcher = DisconnectWatcher(receive)
    with pytest.raises(asyncio.CancelledError):
        try:
            disconnected.set()
            await asyncio.sleep(10)
        finally:
            watcher.stop()
    assert watcher.fired
    assert asyncio.current_task().cancelling() == 0  # the handled cancellation is not left pending
    await asyncio.sleep(0)  # the task goes on normally


async def test_disconnect_watcher_is_harmless_after_stop():
    disconnected = asyncio.Event()

    async def receive():
        await disconnected.wait()
        return {"type": "http.disconnect"}

    watcher = DisconnectWatcher(receive)
    await asyncio.sleep(0)
    watcher.stop()
    disconnected.set()
    await asyncio.sleep(0.01)
    assert not watcher.fired and asyncio.current_task().cancelling() == 0


@pytest.mark.django_db(transaction=True)
def test_client_disconnect_while_waiting_for_upstream_logs_once(junction, api_key, fake_openai):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "[[hold]] hi"}], "stream": True}
    headers = {"authorization": f"Bearer {api_key.secret}"}
    with (
        httpx.Client(timeout=10) as http,
        http.stream("POST", f"{junction.url}/v1/chat/completions", headers=headers, json=body) as resp,
    ):
        request_id = resp.headers["x-request-id"]
        first = next(resp.iter_raw())
        assert first.startswith(b"data: ")
    (row,) = wait_for_logs(request_id=request_id)
    fake_openai.release.set()
    assert row.status_code == 499 and row.extra.get("client_disconnected") is True
    assert row.ttfb_ms is not None
    # The relay's finish ran once: one row, and nothing more arrives later.
    wait_for_logs(2, timeout=0.3)
    assert RequestLog.objects.filter(request_id=request_id).count() == 1


class FakeUpstream:
    """An upstream answer that hands out its chunks, then waits (never ends on its own)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.closed = 0

    async def read_any(self) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)
        await asyncio.Event().wait()
        return b""

    async def aclose(self) -> None:
        self.closed += 1


def relayed_stream(monkeypatch, chunks: list[bytes]):
    from gateway import relay
    from gateway.context import CallContext
    from gateway.dialects import chat
    from gateway.logs import request_logs
    from gateway.providers.openai.passthrough import MarkedStream

    rows: list[dict] = []
    monkeypatch.setattr(request_logs, "submit", rows.append)
    ctx = CallContext(endpoint="chat.completions", dialect=chat, headers={})
    upstream = FakeUpstream(chunks)
    stream = relay.RelayStream(relay._relay_events(ctx, upstream, MarkedStream(lambda ev: ev.raw)))
    return ctx, upstream, stream, rows


async def test_relay_stream_sends_each_upstream_read_as_one_body_message(monkeypatch):
    ctx, upstream, stream, rows = relayed_stream(monkeypatch, [b"data: 1\n\n", b"data: 2\n\ndata: 3\n\n"])
    sent: list[dict] = []

    async def send(message):
        sent.append(message)
        if len(sent) == 2:
            raise asyncio.CancelledError  # the client goes away while the second chunk is written

    with pytest.raises(asyncio.CancelledError):
        await stream.stream_to(send)
    assert [m["body"] for m in sent] == [b"data: 1\n\n", b"data: 2\n\ndata: 3\n\n"]
    assert all(m["more_body"] for m in sent)
    # The relay learnt of the disconnect, closed the upstream and finished exactly once.
    assert ctx.status == 499 and ctx.extra["client_disconnected"] is True
    assert upstream.closed == 1 and ctx.finished and len(rows) == 1


async def test_relay_stream_cancelled_while_waiting_for_upstream(monkeypatch):
    ctx, upstream, stream, rows = relayed_stream(monkeypatch, [b"data: 1\n\n"])
    sent: list[dict] = []
    first_sent = asyncio.Event()

    async def send(message):
        sent.append(message)
        first_sent.set()

    task = asyncio.get_running_loop().create_task(stream.stream_to(send))
    await first_sent.wait()
    task.cancel()  # what the disconnect watcher does
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [m["body"] for m in sent] == [b"data: 1\n\n"]
    assert ctx.status == 499 and upstream.closed == 1 and len(rows) == 1


def test_request_headers_from_the_scope_match_djangos_view_of_them():
    from io import BytesIO

    from django.core.handlers.asgi import ASGIRequest

    from gateway.pipeline import request_headers

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"2"),
            (b"authorization", b"Bearer jk_x"),
            (b"x-tag", b"a"),
            (b"X-Tag", b"b"),
            (b"x_api_key", b"spoofed"),  # underscores: dropped, as Django drops them
            (b"x-api-key", b"real"),
            (b"user-agent", b"caf\xe9/1"),
        ],
        "client": ("127.0.0.1", 5000),
    }
    request = ASGIRequest(scope, BytesIO(b"{}"))
    expected = {k.lower(): v for k, v in request.headers.items()}
    assert request_headers(request) == expected
    assert expected["x-tag"] == "a,b" and expected["x-api-key"] == "real" and "x_api_key" not in expected


def test_cached_request_signal_receivers_follow_connect_and_disconnect():
    from gateway.asgi import ApiApp as ApiASGIHandler
    from gateway.asgi import send_on_loop

    ApiASGIHandler()  # turns on Django's per-sender receiver cache for the request signals
    assert signals.request_finished.use_caching
    calls: list[object] = []

    def receiver(sender, **kwargs):
        calls.append(sender)

    assert send_on_loop(signals.request_finished, ApiASGIHandler)  # fills the cache
    signals.request_finished.connect(receiver)
    try:
        assert send_on_loop(signals.request_finished, ApiASGIHandler)
        assert calls == [ApiASGIHandler]
    finally:
        signals.request_finished.disconnect(receiver)
    send_on_loop(signals.request_finished, ApiASGIHandler)
    assert calls == [ApiASGIHandler]


def test_api_paths_are_resolved_once_and_unknown_ones_every_time(monkeypatch):
    from django.urls import Resolver404, URLResolver, get_resolver

    from gateway.asgi import resolve_path

    resolve_path.cache_clear()
    walks: list[str] = []
    real = URLResolver.resolve
    monkeypatch.setattr(URLResolver, "resolve", lambda self, path: walks.append(path) or real(self, path))
    resolver = get_resolver()
    first = resolve_path(resolver, "/v1/chat/completions")
    assert first.func.__name__ == "chat_completions" and walks
    walked = len(walks)
    assert resolve_path(resolver, "/v1/chat/completions") is first and len(walks) == walked
    for _ in range(2):
        with pytest.raises(Resolver404):
            resolve_path(resolver, "/v1/no-such-endpoint")
        assert len(walks) > walked
        walked = len(walks)


def raw_exchange(url: str, head: bytes, body_part: bytes, *, wait: float) -> tuple[bytes, float]:
    """Send ``head`` and part of a body, then nothing: what came back, and when
    the server closed the connection (seconds after the last byte sent)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=wait) as sock:
        sock.sendall(head + body_part)
        sent = time.monotonic()
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received, time.monotonic() - sent
            received += chunk


@pytest.mark.django_db(transaction=True)
def test_a_body_the_client_stops_sending_times_out_with_408(junction, api_key, settings):
    settings.JUNCTION_BODY_TIMEOUT = 0.5
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"authorization: Bearer " + api_key.secret.encode() + b"\r\ncontent-length: 100\r\n\r\n"
    )
    received, closed_after = raw_exchange(junction.url, head, b'{"model": "gpt-4o-mini",', wait=10)
    status_line, _, rest = received.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    assert 0.4 < closed_after < 5  # answered after the pause, and the connection closed
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    import json

    error = json.loads(body)["error"]
    assert error["code"] == "request_timeout" and error["http_status"] == 408
    (row,) = wait_for_logs(request_id=error["request_id"])
    assert row.status_code == 408


@pytest.mark.django_db(transaction=True)
def test_a_body_sent_slowly_but_steadily_is_not_cut(junction, api_key, settings, fake_openai):
    settings.JUNCTION_BODY_TIMEOUT = 0.5
    body = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'

    def slowly():
        for i in range(0, len(body), 25):
            time.sleep(0.2)
            yield body[i : i + 25]

    resp = httpx.post(
        f"{junction.url}/v1/chat/completions",
        content=slowly(),
        headers={"authorization": f"Bearer {api_key.secret}", "content-type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
