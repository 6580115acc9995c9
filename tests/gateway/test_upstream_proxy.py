"""Egress proxies (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as curl and httpx
read them) against a real proxy process, and the cap on answers read whole."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from gateway.http import UpstreamTooLarge, UpstreamUnreachable, clients, upstream_post
from gateway.proxies import bypassed, parse_proxy
from tests.fakes.tcp_gate import dead_port
from tests.gateway.test_upstream_http import Server, certificates, chunk, fetch, serve, sized

ROOT = Path(__file__).resolve().parents[2]


class ProxyProcess:
    def __init__(self, tmp_path: Path, credentials: str | None = None) -> None:
        self.log = tmp_path / f"proxy-{time.monotonic_ns()}.log"
        self.log.touch()
        args = [sys.executable, "-m", "tests.fakes.http_proxy", str(self.log)]
        self.process = subprocess.Popen(
            [*args, *([credentials] if credentials else [])], cwd=ROOT, stdout=subprocess.PIPE
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo}127.0.0.1:{self.port}"

    def seen(self) -> list[str]:
        return self.log.read_text().splitlines()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def proxy(tmp_path) -> Iterator[ProxyProcess]:
    started = ProxyProcess(tmp_path)
    yield started
    started.stop()


async def answer(n, head, writer):
    writer.write(sized(b"answer %d" % n))


async def test_http_upstream_goes_through_the_proxy_in_absolute_form(settings, proxy):
    settings.UPSTREAM_HTTP_PROXY = proxy.url()
    server, url = await serve(answer)
    try:
        assert await fetch(url + "/v1/chat?x=1") == b"answer 1"
        assert await fetch(url + "/v1/chat?x=1") == b"answer 2"
    finally:
        await server.stop()
    port = url.rsplit(":", 1)[1]
    assert proxy.seen() == [f"POST http://localhost:{port}/v1/chat?x=1 -"]  # one connection, kept alive
    assert server.requests[0][0].startswith(b"POST /v1/chat?x=1 HTTP/1.1\r\nhost: localhost:")


async def test_https_upstream_goes_through_a_connect_tunnel(settings, proxy, tmp_path):
    ca_file, server_tls = certificates(tmp_path)
    settings.UPSTREAM_CA_BUNDLE = ca_file
    settings.UPSTREAM_HTTPS_PROXY = proxy.url()
    settings.UPSTREAM_HTTP_PROXY = "http://127.0.0.1:9"  # the https one is used for https
    server = Server(answer, tls=server_tls)
    url = await server.start()
    try:
        assert await fetch(url) == b"answer 1"
        assert await fetch(url) == b"answer 2"
    finally:
        await server.stop()
    port = url.rsplit(":", 1)[1]
    assert proxy.seen() == [f"CONNECT localhost:{port} -"]  # TLS to the upstream inside the tunnel
    assert server.connections == 1


async def test_no_proxy_hosts_are_reached_directly(settings, proxy):
    settings.UPSTREAM_HTTP_PROXY = proxy.url()
    settings.UPSTREAM_NO_PROXY = "example.com, localhost"
    server, url = await serve(answer)
    try:
        assert await fetch(url) == b"answer 1"
    finally:
        await server.stop()
    assert proxy.seen() == []


async def test_proxy_credentials_and_refusals(settings, tmp_path):
    guarded = ProxyProcess(tmp_path, "user:p@ss")
    ca_file, server_tls = certificates(tmp_path)
    settings.UPSTREAM_CA_BUNDLE = ca_file
    server = Server(answer, tls=server_tls)
    url = await server.start()
    try:
        settings.UPSTREAM_HTTPS_PROXY = guarded.url("user:p%40ss@")
        assert await fetch(url) == b"answer 1"
        await clients.close_current()
        settings.UPSTREAM_HTTPS_PROXY = guarded.url("user:wrong@")
        with pytest.raises(UpstreamUnreachable, match=r"refused the tunnel.*407"):
            await upstream_post(url, body=b"{}", headers={})
        settings.UPSTREAM_HTTPS_PROXY = f"http://127.0.0.1:{dead_port()}"
        with pytest.raises(UpstreamUnreachable, match=r"through proxy 127\.0\.0\.1"):
            await upstream_post(url, body=b"{}", headers={})
    finally:
        await server.stop()
        guarded.stop()
    assert [line.split(" ", 2)[2] for line in guarded.seen()] == [
        "Basic dXNlcjpwQHNz",  # user:p@ss
        "Basic dXNlcjp3cm9uZw==",  # user:wrong
    ]


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "direct"),
    [
        ("api.openai.com", 443, "", False),
        ("api.openai.com", 443, "*", True),
        ("api.openai.com", 443, "openai.com", True),
        ("api.openai.com", 443, ".openai.com", True),
        ("api.openai.com", 443, "*.openai.com", True),
        ("openai.com", 443, ".openai.com", True),
        ("notopenai.com", 443, "openai.com", False),
        ("api.openai.com", 443, "api.openai.com:8443", False),
        ("api.openai.com", 8443, "api.openai.com:8443", True),
        ("10.1.2.3", 80, "10.0.0.0/8", True),
        ("11.1.2.3", 80, "10.0.0.0/8", False),
        ("127.0.0.1", 80, "localhost,127.0.0.1", True),
        ("::1", 80, "[::1]", True),
        ("API.OpenAI.com", 443, " OPENAI.COM ", True),
    ],
)
def test_no_proxy_matching(host, port, no_proxy, direct):
    assert bypassed(host, port, no_proxy) is direct


def test_proxy_urls():
    assert parse_proxy("proxy.corp:3128").port == 3128
    assert parse_proxy("http://proxy.corp").port == 1080
    with pytest.raises(UpstreamUnreachable, match="only http://"):
        parse_proxy("socks5://proxy.corp:1080")


async def test_an_answer_read_whole_is_capped(settings):
    settings.UPSTREAM_MAX_RESPONSE_BYTES = 1000

    async def script(n, head, writer):
        if n == 1:
            writer.write(sized(b"x" * 1001))  # refused from its content-length
        elif n == 2:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            writer.write(chunk(b"y" * 600) + chunk(b"y" * 600) + b"0\r\n\r\n")
        else:
            writer.write(sized(b"z" * 1000))

    server, url = await serve(script)
    try:
        for _ in range(2):
            with pytest.raises(UpstreamTooLarge, match=r"UPSTREAM_MAX_RESPONSE_BYTES \(1000 bytes\)"):
                await fetch(url)
        assert await fetch(url) == b"z" * 1000
    finally:
        await server.stop()


@pytest.mark.django_db(transaction=True)
def test_v1_through_the_proxy_and_the_cap_as_a_502(junction, api_key, fake_openai, settings, proxy):
    settings.UPSTREAM_HTTP_PROXY = proxy.url()
    client = openai.OpenAI(api_key=api_key.secret, base_url=f"{junction.url}/v1", max_retries=0, timeout=20)
    messages = [{"role": "user", "content": "hi"}]
    assert client.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content
    assert [line.split(" ")[0] for line in proxy.seen()] == ["POST"]
    assert proxy.seen()[0].split(" ")[1].startswith("http://127.0.0.1:")
    settings.UPSTREAM_MAX_RESPONSE_BYTES = 100
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert exc.value.status_code == 502 and exc.value.code == "upstream_response_too_large"
    assert "UPSTREAM_MAX_RESPONSE_BYTES (100 bytes)" in exc.value.message
    # A stream is relayed as it arrives: the cap is for answers read whole.
    with client.chat.completions.stream(model="gpt-4o-mini", messages=messages) as stream:
        assert "".join(e.delta for e in stream if e.type == "content.delta")
