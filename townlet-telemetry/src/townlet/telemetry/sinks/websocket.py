"""The ``websocket`` sink: an observer server any number of clients can subscribe to."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from typing import ClassVar

from pydantic import BaseModel, Field
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from townlet.core.ports import PluginParams, TelemetryEvent
from townlet.core.telemetry import (
    TrackingWorldSource,
    TransportHealth,
    WorldSource,
    encode_event,
    encode_payload,
)
from townlet.core.telemetry.payloads import WORLD_TYPES

__all__ = ["WebsocketParams", "WebsocketSink"]


class WebsocketParams(PluginParams):
    """Parameters of the ``websocket`` sink."""

    host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address to listen on; loopback by default (other hosts cannot connect).",
    )
    port: int = Field(8765, ge=0, le=65535, description="Port (0..65535; 0 picks a free one).")
    max_clients: int = Field(
        64, ge=1, le=10_000, description="Clients served at once (1..10000); more are refused."
    )
    client_queue: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Messages queued per client (1..1000000); a client that falls this far "
        "behind is sent a fresh snapshot instead.",
    )
    start_timeout_s: float = Field(
        10.0, gt=0, le=120, description="Seconds to wait for the server to listen (0..120]."
    )


class _Client:
    """One subscriber: its connection, its bounded outbox, where its world stands."""

    def __init__(self, connection: ServerConnection, size: int) -> None:
        self.connection = connection
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=size)
        self.waiting = True
        """No whole world yet: diffs are of no use to it."""
        self.based_seq: int | None = None
        """``seq`` of the hub's world it was sent out of band: older world messages are
        skipped (the hub's world can be ahead of this sink's place in the stream)."""

    def wants(self, event: TelemetryEvent) -> bool:
        """Whether a message is for this client now."""
        if event.kind not in WORLD_TYPES:
            return True
        seq = getattr(event.payload, "seq", None)
        if self.based_seq is not None and seq is not None and seq <= self.based_seq:
            return False
        if event.kind == "world_snapshot":
            self.waiting = False
            return True
        return not self.waiting


class WebsocketSink:
    """Serves the telemetry stream over WebSocket (text frames, one JSON payload each).

    A client that connects gets the current world as a full ``world_snapshot``
    first, then every later payload (diffs, metrics, narration, ...), in
    order (diffs older than its snapshot are skipped). A client may send
    ``{"type": "snapshot"}`` to get a fresh snapshot. A slow client's outbox
    is bounded: when it overflows, its queue is replaced by a fresh snapshot
    (counted in ``client_resyncs``). ``emit`` only hands the message to the
    server's event loop, so a slow client never holds up the hub.
    """

    Params: ClassVar[type[BaseModel]] = WebsocketParams
    plugin_api_version: ClassVar[str] = "2.0"

    def __init__(self, params: WebsocketParams) -> None:
        self.params = params
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._clients: set[_Client] = set()
        self._world: WorldSource = TrackingWorldSource()
        self._served = 0
        self._refused = 0
        self._resyncs = 0
        self._pending = threading.BoundedSemaphore(1000)  # batches handed over, not yet run
        self._last_error: str | None = None
        self.address: tuple[str, int] | None = None
        """``(host, port)`` the server listens on, once started."""

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the server on its own thread; raise if it cannot listen."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # reported to start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="townlet-websocket", daemon=True)
        self._thread.start()
        if not ready.wait(self.params.start_timeout_s):
            raise TimeoutError(f"websocket server did not start in {self.params.start_timeout_s} s")
        if failure:
            raise failure[0]

    async def _listen(self) -> None:
        self._server = await serve(
            self._handle, self.params.host, self.params.port, max_size=2**16, compression=None
        )
        sockname = next(iter(self._server.sockets)).getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))

    def stop(self) -> None:
        """Let clients take what is queued for them (up to 1 s), then close every
        connection (1001 going away) and the server. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            future.result(timeout=5)
        except Exception as exc:
            self._last_error = f"stop: {type(exc).__name__}: {exc}"
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        self._server = None

    async def _shutdown(self) -> None:
        for _ in range(100):  # up to 1 s for clients to receive what is queued for them
            if all(c.outbox.empty() for c in self._clients):
                break
            await asyncio.sleep(0.01)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # -- the stream (hub worker thread → event loop) ---------------------------------

    def bind_world(self, source: WorldSource) -> None:
        """Take the hub's world for new clients instead of following every diff."""
        self._world = source

    def emit(self, event: TelemetryEvent) -> None:
        """Hand one payload to the event loop (see :meth:`emit_batch`)."""
        self.emit_batch([event])

    def emit_batch(self, events: Sequence[TelemetryEvent]) -> None:
        """Hand payloads to the event loop for every client; does not wait for clients."""
        loop = self._loop
        if loop is None or self._server is None:
            raise RuntimeError("websocket server is not running")
        if not self._pending.acquire(timeout=5):
            raise TimeoutError("websocket event loop is not keeping up")
        items = [(e, encode_event(e).decode("utf-8")) for e in events]
        loop.call_soon_threadsafe(self._dispatch, items)

    def _dispatch(self, items: list[tuple[TelemetryEvent, str]]) -> None:
        self._pending.release()
        for event, text in items:
            self._world.observe(event)
            for client in list(self._clients):
                if not client.wants(event):
                    continue
                try:
                    client.outbox.put_nowait(text)
                except asyncio.QueueFull:
                    self._rebase(client, clear=True)
                    self._resyncs += 1
                    if event.kind not in WORLD_TYPES:
                        client.outbox.put_nowait(text)

    def _rebase(self, client: _Client, *, clear: bool) -> None:
        """Send a client the freshest whole world (after emptying its outbox)."""
        while clear and not client.outbox.empty():
            client.outbox.get_nowait()
        whole = self._world.latest()
        if whole is None:
            client.waiting, client.based_seq = True, None
            return
        client.outbox.put_nowait(encode_payload(whole).decode("utf-8"))
        client.waiting, client.based_seq = False, getattr(whole, "seq", None)

    async def _handle(self, connection: ServerConnection) -> None:
        if len(self._clients) >= self.params.max_clients:
            self._refused += 1
            await connection.close(1013, "too many observers")
            return
        client = _Client(connection, self.params.client_queue)
        self._rebase(client, clear=False)
        self._clients.add(client)
        self._served += 1
        sender = asyncio.create_task(self._send(client))
        reader = asyncio.create_task(self._read(client))
        try:
            await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._clients.discard(client)
            sender.cancel()
            reader.cancel()

    async def _send(self, client: _Client) -> None:
        try:
            while True:
                await client.connection.send(await client.outbox.get())
        except ConnectionClosed:
            pass

    async def _read(self, client: _Client) -> None:
        """Answer ``{"type": "snapshot"}``; ignore anything else a client sends."""
        try:
            async for message in client.connection:
                try:
                    wants = json.loads(message).get("type") == "snapshot"
                except (ValueError, AttributeError):
                    continue
                if wants:
                    self._rebase(client, clear=True)
        except ConnectionClosed:
            pass

    def health(self) -> TransportHealth:
        """Listening or not, address, clients now and served, resyncs of lagging clients."""
        host, port = self.address or (self.params.host, self.params.port)
        return TransportHealth(
            connected=self._server is not None,
            last_error=self._last_error,
            detail={
                "address": f"ws://{host}:{port}",
                "clients": len(self._clients),
                "clients_served": self._served,
                "clients_refused": self._refused,
                "client_resyncs": self._resyncs,
            },
        )
