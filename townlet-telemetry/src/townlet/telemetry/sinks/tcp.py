"""The ``tcp`` sink: newline-delimited JSON to ``host:port``, reconnecting with backoff."""

from __future__ import annotations

import select
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from typing import ClassVar

from pydantic import BaseModel, Field

from townlet.core.ports import PluginParams, TelemetryEvent
from townlet.core.telemetry import (
    TrackingWorldSource,
    TransportHealth,
    WorldSource,
    encode_event,
    encode_payload,
)

__all__ = ["SinkStopped", "TcpParams", "TcpSink"]


class SinkStopped(RuntimeError):
    """The sink was stopped while an event waited for a connection."""


class TcpParams(PluginParams):
    """Parameters of the ``tcp`` sink."""

    host: str = Field("127.0.0.1", min_length=1, description="Receiver host name or address.")
    port: int = Field(ge=1, le=65535, description="Receiver port (1..65535).")
    tls: bool = Field(False, description="Wrap the connection in TLS.")
    tls_ca_file: str | None = Field(
        None, description="PEM file of CAs to trust (default: the system's)."
    )
    tls_verify: bool = Field(
        True, description="Verify the receiver's certificate and host name (keep on)."
    )
    tls_server_name: str | None = Field(
        None, description="Name the certificate must carry (default: host)."
    )
    connect_timeout_s: float = Field(
        2.0, gt=0, le=60, description="Seconds to wait for a connection (0..60]."
    )
    send_timeout_s: float = Field(
        5.0,
        gt=0,
        le=600,
        description="Seconds a send may block before the link counts as dead (0..600].",
    )
    send_buffer_bytes: int | None = Field(
        None,
        ge=4096,
        le=64 * 1024 * 1024,
        description="Kernel send buffer (4 KiB..64 MiB; default: the OS's). Smaller bounds what "
        "a receiver that dies can take with it.",
    )
    backoff_initial_s: float = Field(
        0.05, gt=0, le=60, description="First wait after a failed connection (0..60] s."
    )
    backoff_max_s: float = Field(
        5.0, gt=0, le=3600, description="Longest wait between attempts (0..3600] s."
    )
    backoff_multiplier: float = Field(
        2.0, ge=1, le=10, description="Each failed attempt multiplies the wait by this (1..10)."
    )


class TcpSink:
    """Streams every payload as one line of JSON over TCP (optionally TLS).

    Runs on the hub's worker thread for this sink, so waiting here never
    slows the town. While the receiver is unreachable, ``emit`` retries with
    exponential backoff and the hub's bounded buffer holds (and, when full,
    drops and counts) later messages. On every new connection the world
    stream restarts with a full ``world_snapshot`` (diffs it could not apply
    are not sent and count as dropped). A message counts as
    delivered once the operating system accepted it; as with any one-way TCP
    stream, what sits in the socket buffers when the receiver dies is lost
    with it (``send_buffer_bytes`` bounds our side of that).
    """

    Params: ClassVar[type[BaseModel]] = TcpParams
    plugin_api_version: ClassVar[str] = "2.0"

    def __init__(self, params: TcpParams) -> None:
        self.params = params
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._world: WorldSource = TrackingWorldSource()
        self._need_base = True
        self._asked = False
        self._delay = params.backoff_initial_s
        self._connects = 0
        self._last_error: str | None = None
        self._ssl: ssl.SSLContext | None = None

    def start(self) -> None:
        """Prepare TLS; the first connection is made by the first ``emit``."""
        p = self.params
        if p.tls:
            context = ssl.create_default_context(cafile=p.tls_ca_file)
            if not p.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._ssl = context

    # -- connection ----------------------------------------------------------------

    def _connect(self) -> socket.socket:
        p = self.params
        sock = socket.create_connection((p.host, p.port), timeout=p.connect_timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if p.send_buffer_bytes is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, p.send_buffer_bytes)
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(sock, server_hostname=p.tls_server_name or p.host)
            sock.settimeout(p.send_timeout_s)
        except BaseException:
            sock.close()
            raise
        return sock

    def _ensure_connected(self) -> socket.socket:
        while self._sock is None:
            if self._stopping.is_set():
                raise SinkStopped("stopped while waiting for the receiver")
            try:
                self._sock = self._connect()
            except OSError as exc:
                self._last_error = f"connect: {type(exc).__name__}: {exc}"
                if self._stopping.wait(self._delay):
                    raise SinkStopped("stopped while waiting for the receiver") from exc
                p = self.params
                self._delay = min(self._delay * p.backoff_multiplier, p.backoff_max_s)
                continue
            self._connects += 1
            self._need_base = True
            self._asked = False
            self._delay = self.params.backoff_initial_s
        return self._sock

    def _peer_gone(self, sock: socket.socket) -> bool:
        """Whether the receiver closed its end (checked before each send)."""
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        sock.setblocking(False)
        try:
            data = sock.recv(4096)  # a receiver has nothing to say; drop what it sends
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        except OSError:
            return True
        finally:
            if sock.fileno() != -1:
                sock.settimeout(self.params.send_timeout_s)
        return data == b""

    def _drop_connection(self, why: str) -> None:
        self._last_error = why
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    # -- sink protocol ---------------------------------------------------------------

    def bind_world(self, source: WorldSource) -> None:
        """Take the hub's world for new connections instead of following every diff."""
        self._world = source

    def emit(self, event: TelemetryEvent) -> None:
        """Send one line (see :meth:`emit_batch`)."""
        if not self.emit_batch([event]):
            raise RuntimeError("world diff not sent: the receiver has no world to apply it to")

    def emit_batch(self, events: Sequence[TelemetryEvent]) -> int:
        """Send the events' lines, (re)connecting as needed; return how many were sent.

        Lines go out in writes of up to 64 KiB. Waits (with backoff) while the
        receiver is unreachable; if the connection breaks, the unsent rest
        goes to the next one, which gets no diffs until it has a whole world:
        the world as of the batch when the hub's is at hand, else the snapshot
        the sink asks the hub for. Raises :class:`SinkStopped` if stopped
        before anything was sent.
        """
        for event in events:
            self._world.observe(event)
        rest = list(events)
        sent = 0
        while rest:
            try:
                sock = self._ensure_connected()
            except SinkStopped:
                if sent:
                    return sent
                raise
            lines, based = self._frame(rest)
            done = 0  # events of ``rest`` whose lines were all sent
            try:
                if self._peer_gone(sock):
                    raise ConnectionResetError("receiver closed the connection")
                for data, upto, count in _chunks(lines, len(rest)):
                    sock.sendall(data)
                    sent += count
                    done = upto
            except OSError as exc:
                self._drop_connection(f"send: {type(exc).__name__}: {exc}")
                rest = rest[done:]
                continue
            self._need_base = not based
            return sent
        return sent

    def _frame(self, events: Sequence[TelemetryEvent]) -> tuple[list[tuple[int, bytes]], bool]:
        """The lines for ``events``, each with how many events it completes, and whether
        the receiver has a whole world after them."""
        lines: list[tuple[int, bytes]] = []
        based = not self._need_base
        skipped = False
        for i, event in enumerate(events, start=1):
            kind = event.kind
            if kind == "world_snapshot":
                based = True
            elif kind == "world_diff" and not based:
                skipped = True
                continue  # no use to a receiver without a world
            lines.append((i, encode_event(event)))
        if skipped and not based:
            whole = self._world.snapshot_now()  # the world as of this batch
            if whole is not None:
                lines.append((len(events), encode_payload(whole)))
                based = True
            elif not self._asked:
                self._world.request_snapshot()
                self._asked = True
        return lines, based

    def stop(self) -> None:
        """Finish the stream cleanly (FIN, then up to 0.5 s for the receiver to close) and
        wake an ``emit`` that is waiting. Idempotent."""
        self._stopping.set()
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(0.5)
            while sock.recv(4096):  # until the receiver closes: it has read everything
                pass
        except (OSError, ValueError):
            pass
        finally:
            sock.close()

    def health(self) -> TransportHealth:
        """Connected or not, the receiver's address, how many connections were made."""
        p = self.params
        return TransportHealth(
            connected=self._sock is not None,
            last_error=self._last_error,
            detail={"address": f"{p.host}:{p.port}", "tls": p.tls, "connections": self._connects},
        )


_CHUNK = 64 * 1024


def _chunks(lines: list[tuple[int, bytes]], total: int) -> Iterator[tuple[bytes, int, int]]:
    """Line-aligned writes of about 64 KiB: ``(data, events completed, lines)``.

    The last write completes every event, skipped diffs included.
    """
    start = 0
    size = 0
    for end, (_, line) in enumerate(lines, start=1):
        size += len(line) + 1
        if size >= _CHUNK or end == len(lines):
            chunk = lines[start:end]
            upto = total if end == len(lines) else chunk[-1][0]
            yield b"".join(line + b"\n" for _, line in chunk), upto, len(chunk)
            start, size = end, 0
    if not lines:
        yield b"", total, 0
