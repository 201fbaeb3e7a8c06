"""The loopback console transport: newline-delimited JSON over TCP (IPv4 or IPv6).

Each line a client sends is one request for the bus; the server answers each
with one JSON line (the :class:`~townlet.core.console.bus.Result`). Lines that
are not JSON objects, are longer than :data:`MAX_LINE` bytes or nest deeper
than :data:`~townlet.core.console.bus.MAX_DEPTH` levels get a ``bad_request``
answer; nothing a client sends can stop the town.

At most ``max_connections`` connections are served at once; one more is
answered ``too_many_connections`` and closed. A connection that sends nothing
for ``idle_timeout`` seconds is closed. Both are counted in the bus's
:class:`~townlet.core.console.bus.ConsoleStats`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import socketserver
import threading
from typing import Any

from townlet.core.console.bus import MAX_DEPTH, ConsoleBus, Result, too_deep
from townlet.core.errors import ConfigError, TownletError

__all__ = ["MAX_LINE", "ConsoleServer", "format_address", "send"]

MAX_LINE = 65_536


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def format_address(host: str, port: int) -> str:
    """``HOST:PORT``, with an IPv6 host in brackets (``[::1]:7311``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _encode(result: Result) -> bytes:
    return json.dumps(result.as_dict(), default=str).encode() + b"\n"


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)  # a silent client is closed

    def handle(self) -> None:
        bus = self.server.bus
        while True:
            try:
                line = self.rfile.readline(MAX_LINE + 1)
            except TimeoutError:
                bus.count("idle_closed")
                return
            except OSError:
                return
            if not line:
                return
            if len(line) > MAX_LINE:
                bus.count("bad_requests")
                self._reply(Result("", False, "bad_request", f"line longer than {MAX_LINE} bytes"))
                return
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except RecursionError:
                raw = None
            except (ValueError, UnicodeDecodeError):
                bus.count("bad_requests")
                self._reply(Result("", False, "bad_request", "not JSON"))
                continue
            if not isinstance(raw, dict) or too_deep(raw):
                bus.count("bad_requests")
                detail = f"a request is a JSON object nested at most {MAX_DEPTH} levels deep"
                cmd_id = raw.get("cmd_id") if isinstance(raw, dict) else None
                answer_id = cmd_id[:128] if isinstance(cmd_id, str) else ""
                self._reply(Result(answer_id, False, "bad_request", detail))
                continue
            self._reply(bus.request(raw))

    def _reply(self, result: Result) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(_encode(result))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle clients
    allow_reuse_address = True
    bus: ConsoleBus
    idle_timeout: float
    max_connections: int

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        self.open_connections = 0
        self._count_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            full = self.open_connections >= self.max_connections
            if not full:
                self.open_connections += 1
        if full:
            self.bus.count("connections_refused")
            refusal = Result(
                "",
                False,
                "too_many_connections",
                f"the console serves at most {self.max_connections} connections at once",
            )
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                request.sendall(_encode(refusal))
            self.shutdown_request(request)
            return
        self.bus.count("connections")
        try:
            super().process_request(request, client_address)
        except BaseException:
            with self._count_lock:
                self.open_connections -= 1
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._count_lock:
                self.open_connections -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A handler failure closes that connection only; it is counted, not printed.
        self.bus.count("internal_errors")


class ConsoleServer:
    """Serves a :class:`ConsoleBus` on ``host:port`` from a background thread.

    ``host`` may be an IPv4 or IPv6 address or a name; a non-loopback one
    needs ``allow_remote``, and ``allow_remote`` needs at least one token.
    """

    def __init__(
        self,
        bus: ConsoleBus,
        port: int,
        host: str = "127.0.0.1",
        allow_remote: bool = False,
        *,
        max_connections: int = 16,
        idle_timeout: float = 60.0,
    ) -> None:
        if not allow_remote and not _is_loopback(host):
            raise ConfigError(
                f"console.host: {host!r} is not a loopback address; set console.allow_remote "
                "to expose the console beyond this machine"
            )
        if allow_remote and not bus.has_tokens:
            raise ConfigError(
                "console.allow_remote is set but no console token is configured: set "
                "console.admin_tokens / console.viewer_tokens or TOWNLET_CONSOLE_ADMIN_TOKEN / "
                "TOWNLET_CONSOLE_VIEWER_TOKEN"
            )
        try:
            family, _, _, _, sockaddr = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            self._server = _Server((str(sockaddr[0]), int(sockaddr[1])), family)
        except OSError as exc:
            raise TownletError(
                f"console: cannot listen on {format_address(host, port)}: {exc}"
            ) from exc
        self._server.bus = bus
        self._server.idle_timeout = idle_timeout
        self._server.max_connections = max_connections
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="townlet-console"
        )

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); port is real even when 0 was asked."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def endpoint(self) -> str:
        """The bound address as ``townlet console --connect`` takes it."""
        return format_address(*self.address)

    def warnings(self) -> list[str]:
        """What an operator should know at start-up (no tokens: every command refused)."""
        if self._server.bus.has_tokens:
            return []
        return [
            "the console has no admin or viewer token, so every command will be refused "
            "(set console.admin_tokens or TOWNLET_CONSOLE_ADMIN_TOKEN)"
        ]

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket (also when never started)."""
        if self._thread.is_alive():
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
            try:
                answer = json.loads(line)
            except (ValueError, RecursionError):
                raise ConnectionError("the console answered something that is not JSON") from None
            answers.append(answer)
        return answers
