"""The loopback console transport: newline-delimited JSON over TCP.

Each line a client sends is one request for the bus; the server answers each
with one JSON line (the :class:`~townlet.core.console.bus.Result`). Lines that
are not JSON objects, or longer than :data:`MAX_LINE` bytes, get a
``bad_request`` answer; nothing a client sends can stop the town.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import socketserver
import threading
from typing import Any

from townlet.core.console.bus import ConsoleBus, Result
from townlet.core.errors import ConfigError

__all__ = ["MAX_LINE", "ConsoleServer", "send"]

MAX_LINE = 65_536


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        while True:
            try:
                line = self.rfile.readline(MAX_LINE + 1)
            except OSError:
                return
            if not line:
                return
            if len(line) > MAX_LINE:
                self._reply(Result("", False, "bad_request", f"line longer than {MAX_LINE} bytes"))
                return
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                self._reply(Result("", False, "bad_request", "not JSON"))
                continue
            if not isinstance(raw, dict):
                self._reply(Result("", False, "bad_request", "a request is a JSON object"))
                continue
            self._reply(self.server.bus.request(raw))

    def _reply(self, result: Result) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(json.dumps(result.as_dict(), default=str).encode() + b"\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    bus: ConsoleBus


class ConsoleServer:
    """Serves a :class:`ConsoleBus` on ``host:port`` from a background thread."""

    def __init__(
        self, bus: ConsoleBus, port: int, host: str = "127.0.0.1", allow_remote: bool = False
    ) -> None:
        if not allow_remote and not _is_loopback(host):
            raise ConfigError(
                f"console.host: {host!r} is not a loopback address; set console.allow_remote "
                "to expose the console beyond this machine"
            )
        self._server = _Server((host, port), _Handler)
        self._server.bus = bus
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="townlet-console"
        )

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); port is real even when 0 was asked."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


def send(
    host: str, port: int, requests: list[dict[str, Any]], timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Client helper: send requests over one connection, return the answers."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        f = sock.makefile("rwb")
        answers = []
        for req in requests:
            f.write(json.dumps(req).encode() + b"\n")
            f.flush()
            line = f.readline()
            if not line:  # an OSError, so callers report it like any lost connection
                raise ConnectionError("the console closed the connection without answering")
            answers.append(json.loads(line))
        return answers
