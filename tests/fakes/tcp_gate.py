"""A TCP listener a test controls: ``silent`` accepts and never answers (a
frozen server), ``forward`` relays to a real server (when one is given)."""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpGate:
    def __init__(self, upstream: tuple[str, int] | None = None) -> None:
        self.upstream = upstream
        self.mode = "silent"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "forward" and self.upstream is not None:
                threading.Thread(target=self._forward, args=(conn,), daemon=True).start()
            else:
                self._held.append(conn)  # accepted, read by nobody, never answered

    def _forward(self, conn: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)  # type: ignore[arg-type]

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    if self.mode == "forward":
                        dst.sendall(data)  # otherwise swallowed: a frozen server
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pump, args=(conn, upstream), daemon=True).start()
        pump(upstream, conn)

    def silence(self) -> None:
        """From now on nothing is answered, on new or open connections."""
        self.mode = "silent"

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for conn in self._held:
            conn.close()


def dead_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
