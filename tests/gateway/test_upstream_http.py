"""The upstream HTTP client (``gateway.http``) against a scripted server: what
it sends, keep-alive reuse, the stale-connection retry, bodies of every
framing, compression, the connection cap, timeouts and broken connections.
(The whole /v1 suite also runs through it against the fake providers.)"""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest

from gateway.http import UpstreamBroken, UpstreamTimeout, UpstreamUnreachable, clients, upstream_post


class Server:
    """Each request is answered by ``self.script(n, request_head, writer)``,
    ``n`` counting requests over all connections; it writes what it likes."""

    def __init__(self, script, tls=None) -> None:
        self.script = script
        self.tls = tls
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.requests: list[tuple[bytes, bytes]] = []  # (head, body)

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        scheme = "https" if self.tls else "http"
        return f"{scheme}://localhost:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(line for line in head.split(b"\r\n") if line.startswith(b"content-length:"))[15:]
                )
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                if await self.script(len(self.requests), head, writer) == "close":
                    writer.close()
                    return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def stop(self) -> None:
        await clients.close_current()
        self.server.close()
        for writer in self.writers:
            writer.close()
        await asyncio.sleep(0.01)  # the handlers see their connections end


def sized(body: bytes, *, status: int = 200, headers: bytes = b"") -> bytes:
    return b"HTTP/1.1 %d OK\r\ncontent-length: %d\r\n%s\r\n%s" % (status, len(body), headers, body)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def serve(script):
    server = Server(script)
    return server, await server.start()


async def fetch(url: str) -> bytes:
    """One call, its answer read whole."""
    resp = await upstream_post(url, body=b"{}", headers={})
    try:
        return await resp.aread()
    finally:
        await resp.aclose()


async def test_a_request_is_sent_as_given_and_the_connection_is_reused():
    async def script(n, head, writer):
        writer.write(
            sized(b'{"n": %d}' % n, headers=b"x-upstream: yes\r\nset-cookie: a\r\nset-cookie: b\r\n")
        )

    server, url = await serve(script)
    try:
        for n in (1, 2, 3):
            resp = await upstream_post(
                f"{url}/v1/chat?x=1", body=b'{"q": 1}', headers={"Authorization": "Bearer k"}
            )
            assert resp.status_code == 200 and await resp.aread() == b'{"n": %d}' % n
            assert resp.headers["x-upstream"] == "yes" and resp.headers["set-cookie"] == "a, b"
            await resp.aclose()
        assert server.connections == 1
        head, body = server.requests[0]
        assert head.startswith(b"POST /v1/chat?x=1 HTTP/1.1\r\n") and body == b'{"q": 1}'
        assert b"\r\nhost: localhost:" in head and b"\r\nAuthorization: Bearer k\r\n" in head
        assert b"\r\naccept-encoding: identity\r\n" in head and b"content-length: 8\r\n" in head
    finally:
        await server.stop()


async def test_a_reused_connection_the_server_closed_is_retried_once_on_a_new_one():
    async def script(n, head, writer):
        if n == 2:
            return "close"  # the keep-alive race: the server dropped it as the request went out
        writer.write(sized(b"ok %d" % n))

    server, url = await serve(script)
    try:
        for n in (1, 3):
            assert await fetch(url) == b"ok %d" % n
        assert server.connections == 2 and len(server.requests) == 3
    finally:
        await server.stop()


async def test_a_new_connection_closed_before_an_answer_is_unreachable_with_no_retry():
    async def script(n, head, writer):
        return "close"

    server, url = await serve(script)
    try:
        with pytest.raises(UpstreamUnreachable):
            await upstream_post(url, body=b"{}", headers={})
        assert len(server.requests) == 1
    finally:
        await server.stop()


async def test_a_chunked_stream_arrives_as_sent_and_a_cut_one_is_broken():
    release = asyncio.Event()

    async def script(n, head, writer):
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n"
        )
        writer.write(chunk(b"data: 1\n\n"))
        await writer.drain()
        await release.wait()
        writer.write(chunk(b"data: 2\n\n"))
        if n == 1:
            writer.write(b"0\r\n\r\n")
            return None
        return "close"  # mid-body

    server, url = await serve(script)
    try:
        resp = await upstream_post(url, body=b"{}", headers={})
        assert await resp.read_any() == b"data: 1\n\n"  # before the rest exists
        release.set()
        assert [c async for c in resp.aiter_bytes()] == [b"data: 2\n\n"]
        await resp.aclose()
        release.clear()
        resp = await upstream_post(url, body=b"{}", headers={})
        assert await resp.read_any() == b"data: 1\n\n"
        release.set()
        with pytest.raises(UpstreamBroken):
            while await resp.read_any():
                pass
        await resp.aclose()
    finally:
        await server.stop()


async def test_compressed_and_connection_delimited_answers_are_read_whole():
    text = b'{"answer": "' + b"x" * 5000 + b'"}'

    async def script(n, head, writer):
        if n == 1:
            writer.write(sized(gzip.compress(text), headers=b"content-encoding: gzip\r\n"))
        elif n == 2:
            writer.write(sized(zlib.compress(text), headers=b"content-encoding: deflate\r\n"))
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n" + text)
            return "close"

    server, url = await serve(script)
    try:
        for _ in range(3):
            assert await fetch(url) == text
    finally:
        await server.stop()


async def test_an_abandoned_answer_closes_its_connection():
    async def script(n, head, writer):
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunk(b"part"))
        if n > 1:
            writer.write(b"0\r\n\r\n")

    server, url = await serve(script)
    try:
        resp = await upstream_post(url, body=b"{}", headers={})
        assert await resp.read_any() == b"part"
        conn = resp._conn
        await resp.aclose()  # the client left: the rest of this answer must never be read as the next one
        assert conn.closed and conn.timer is None  # and its read timer is gone with it
        assert await fetch(url) == b"part"
        assert server.connections == 2
    finally:
        await server.stop()


async def test_calls_over_the_connection_cap_wait_for_a_free_connection(settings):
    settings.UPSTREAM_MAX_CONNECTIONS = 1

    async def script(n, head, writer):
        await asyncio.sleep(0.02)
        writer.write(sized(b"%d" % n))

    server, url = await serve(script)
    try:
        assert sorted(await asyncio.gather(*(fetch(url) for _ in range(4)))) == [b"1", b"2", b"3", b"4"]
        assert server.connections == 1
    finally:
        await server.stop()


async def test_silence_past_the_read_timeout_is_a_timeout_but_a_slow_steady_stream_is_not(settings):
    settings.UPSTREAM_READ_TIMEOUT = 0.2

    async def script(n, head, writer):
        if n == 1:
            await asyncio.sleep(1)  # no answer at all
            return "close"
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for i in range(4):  # 0.4 s in all, never 0.2 s without a byte
            await writer.drain()
            await asyncio.sleep(0.1)
            writer.write(chunk(b"%d" % i))
        if n == 2:
            writer.write(b"0\r\n\r\n")
            return None
        await asyncio.sleep(1)  # then silence
        return "close"

    server, url = await serve(script)
    try:
        with pytest.raises(UpstreamTimeout):
            await upstream_post(url, body=b"{}", headers={})
        assert await fetch(url) == b"0123"
        resp = await upstream_post(url, body=b"{}", headers={})
        with pytest.raises(UpstreamTimeout):
            await resp.aread()
        await resp.aclose()
    finally:
        await server.stop()


async def test_an_upstream_that_stops_reading_a_large_body_times_out(settings):
    settings.UPSTREAM_READ_TIMEOUT = 0.3
    connected = asyncio.Event()

    async def never_read(reader, writer):
        connected.set()
        await asyncio.sleep(2)
        writer.close()

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        with pytest.raises(UpstreamTimeout):
            await upstream_post(url, body=b"x" * (64 * 1024 * 1024), headers={})
        assert connected.is_set()
    finally:
        server.close()
        await clients.close_current()


async def test_nothing_listening_is_unreachable_and_a_newline_in_a_header_is_refused():
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    with pytest.raises(UpstreamUnreachable):
        await upstream_post(f"http://127.0.0.1:{port}/", body=b"{}", headers={})
    with pytest.raises(ValueError):
        await upstream_post(f"http://127.0.0.1:{port}/", body=b"{}", headers={"x-key": "a\r\nx-evil: 1"})
    with pytest.raises(UpstreamUnreachable):
        await upstream_post("ftp://example.com/", body=b"{}", headers={})
    await clients.close_current()


def certificates(tmp_path):
    """A CA, and a certificate it signed for ``localhost``: (CA file, server context)."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def cert(subject, key, issuer, issuer_key, *, ca):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert("Junction test CA", ca_key, "Junction test CA", ca_key, ca=True)
    server = cert("localhost", server_key, "Junction test CA", ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(server.public_bytes(pem))
    (tmp_path / "server.key").write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    return str(tmp_path / "ca.pem"), context


async def test_tls_upstreams_are_verified_against_the_trusted_authorities(settings, tmp_path):
    ca_file, server_tls = certificates(tmp_path)

    async def script(n, head, writer):
        writer.write(sized(b"secure %d" % n))

    server = Server(script, tls=server_tls)
    url = await server.start()
    try:
        with pytest.raises(UpstreamUnreachable):  # a private CA nobody said to trust
            await upstream_post(url, body=b"{}", headers={})
        assert server.requests == []
        await clients.close_current()
        settings.UPSTREAM_CA_BUNDLE = ca_file
        for n in (1, 2):
            assert await fetch(url) == b"secure %d" % n
        assert server.connections == 1  # the refused handshake never reached it; then one, kept alive
    finally:
        await server.stop()
