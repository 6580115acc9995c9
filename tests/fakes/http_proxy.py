"""A small forward proxy, standard library only, run as its own process:
``python -m tests.fakes.http_proxy LOGFILE [USER:PASSWORD]``.

CONNECT opens a tunnel (200, then bytes both ways); any other method must
use the absolute form (``POST http://host:port/path``) and is forwarded in
the origin form. With credentials, a request without the right
``Proxy-Authorization`` gets 407. It prints its port on stdout, then appends
one line per request to LOGFILE: ``METHOD TARGET AUTH`` (AUTH ``-`` if none).
"""

from __future__ import annotations

import base64
import contextlib
import socket
import sys
import threading
from urllib.parse import urlsplit


def pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    for sock in (src, dst):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a request head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


class Proxy:
    def __init__(self, log_path: str, credentials: str | None) -> None:
        self.log_path = log_path
        self.expected = "Basic " + base64.b64encode(credentials.encode()).decode() if credentials else None
        self.lock = threading.Lock()

    def log(self, line: str) -> None:
        with self.lock, open(self.log_path, "a") as log:
            log.write(line + "\n")

    def serve(self, client: socket.socket) -> None:
        try:
            head, rest = read_head(client)
        except ConnectionError:
            client.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        auth = next((v for k, v in headers.items() if k.lower() == "proxy-authorization"), None)
        self.log(f"{method} {target} {auth or '-'}")
        if self.expected is not None and auth != self.expected:
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n")
            client.close()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host.strip("[]"), int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            url = urlsplit(target)
            upstream = socket.create_connection((url.hostname, url.port or 80))
            path = url.path + (f"?{url.query}" if url.query else "")
            kept = [f"{k}: {v}" for k, v in headers.items() if k.lower() != "proxy-authorization"]
            upstream.sendall("\r\n".join([f"{method} {path} {version}", *kept, "", ""]).encode("latin-1"))
        if rest:
            upstream.sendall(rest)
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        pipe(upstream, client)


def main() -> None:
    proxy = Proxy(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=proxy.serve, args=(client,), daemon=True).start()


if __name__ == "__main__":
    main()
