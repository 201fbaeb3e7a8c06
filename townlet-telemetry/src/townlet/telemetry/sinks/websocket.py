"""The ``websocket`` sink: an observer server any number of clients can subscribe to.

Besides the stream it serves the observer page over HTTP on the same port
(``http://127.0.0.1:8765/``) and relays what the page asks of the run it is
bound to (:mod:`townlet.telemetry.observer.controls`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, model_validator
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from townlet.core.ports import PluginParams, TelemetryEvent
from townlet.core.telemetry import (
    TrackingWorldSource,
    TransportHealth,
    WorldSource,
    encode_event,
    encode_payload,
)
from townlet.core.telemetry.payloads import WORLD_TYPES
from townlet.telemetry.observer.assets import forbidden, http_response
from townlet.telemetry.observer.controls import ObserverControls

__all__ = ["CONSOLE_IN_FLIGHT", "WebsocketParams", "WebsocketSink", "is_loopback"]

CONSOLE_IN_FLIGHT = 8
"""Console requests one client may have waiting for the town; more are answered ``busy``."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``127.0.0.1``, ``::1``, ``localhost``)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _host_name(host_header: str) -> str:
    """The host in a ``Host`` header value (``[::1]:8765`` -> ``::1``; "" if unreadable)."""
    try:
        return urlsplit(f"//{host_header}").hostname or ""
    except ValueError:
        return ""


class WebsocketParams(PluginParams):
    """Parameters of the ``websocket`` sink."""

    host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address to listen on; loopback by default (other hosts cannot connect). "
        "Any other address needs allow_remote.",
    )
    allow_remote: bool = Field(
        False,
        description="Allow a non-loopback host: other machines can then watch the town "
        "(the stream and page have no authentication; console commands still need tokens).",
    )
    serve_page: bool = Field(
        True, description="Serve the observer page over HTTP on the same port (GET /)."
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

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> WebsocketParams:
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(
                f"host {self.host!r} is not a loopback address; set allow_remote: true to let "
                "other machines watch (the stream has no authentication)"
            )
        return self


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
        self.inspecting: str | None = None
        """The agent whose policy decisions this client follows."""
        self.console_waiting = 0
        """Console requests sent and not yet answered."""

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

    Plain HTTP requests on the same port get the observer page
    (:mod:`townlet.telemetry.observer`); a run or replay that binds
    :class:`~townlet.telemetry.observer.controls.ObserverControls` lets the
    page change the speed, send console requests, inspect the policy or seek.
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
        self._requests_refused = 0
        self._pending = threading.BoundedSemaphore(1000)  # batches handed over, not yet run
        self._last_error: str | None = None
        self._controls: ObserverControls | None = None
        self._watched: frozenset[str] = frozenset()
        self._tasks: set[asyncio.Future[None]] = set()  # console requests being answered
        self.address: tuple[str, int] | None = None
        """``(host, port)`` the server listens on, once started."""

    @property
    def url(self) -> str:
        """The observer page's address (``http://host:port/``), once started."""
        host, port = self.address or (self.params.host, self.params.port)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

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
        if not is_loopback(self.params.host):
            print(
                f"websocket: serving {self.url} beyond this machine (allow_remote is set); "
                "anyone who can reach it can watch the town",
                file=sys.stderr,
            )

    async def _listen(self) -> None:
        self._server = await serve(
            self._handle,
            self.params.host,
            self.params.port,
            max_size=2**16,
            compression=None,
            process_request=self._http,
        )
        sockname = next(iter(self._server.sockets)).getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        refusal = self._refusal(request)
        if refusal is not None:
            self._requests_refused += 1
            return forbidden(refusal)
        if not self.params.serve_page:
            return None
        controls = self._controls
        return http_response(request, lambda: controls.town if controls is not None else None)

    def _refusal(self, request: Request) -> str | None:
        """Why ``request`` is refused, or None.

        Browsers let any web site open a websocket to 127.0.0.1, and a DNS
        rebinding site can even fetch from it under its own name: so a
        loopback server answers only requests addressed to a loopback name,
        and a websocket handshake that carries an ``Origin`` (every browser
        sends one) must come from a page this server served.
        """
        host = request.headers.get("Host", "")
        if not self.params.allow_remote and not is_loopback(_host_name(host)):
            return f"this observer answers only on loopback addresses (Host: {host!r})"
        origin = request.headers.get("Origin")
        if origin is not None and request.headers.get("Upgrade", "").lower() == "websocket":
            try:
                same = urlsplit(origin).netloc.lower() == host.lower()
            except ValueError:
                same = False
            if not same:
                return f"the stream serves only pages from {host!r} (Origin: {origin!r})"
        return None

    def stop(self) -> None:
        """Tell observer pages the stream ends (``{"type": "end"}``), let clients take
        what is queued for them (up to 1 s), then close every connection (1001 going
        away) and the server. Idempotent."""
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
        if self._controls is not None:  # pages say the run ended instead of reconnecting
            ended = {"live": "the run has ended", "replay": "the replay has stopped"}
            text = json.dumps({"type": "end", "message": ended[self._controls.mode]})
            for client in list(self._clients):
                self._put(client, text)
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

    # -- the observer page's controls -------------------------------------------------

    def bind_observer(self, controls: ObserverControls) -> None:
        """Offer ``controls`` to observer pages (before or after :meth:`start`)."""
        self._controls = controls
        if controls.pacer is not None:
            controls.pacer.listeners.append(
                lambda speed: self.post({"type": "speed", "speed": speed})
            )

    def watched_agents(self) -> frozenset[str]:
        """Agents some client follows in the policy inspector (thread-safe)."""
        return self._watched

    def post(self, message: Mapping[str, Any], *, agent: str | None = None) -> None:
        """Send a non-payload message to every client (or to those inspecting ``agent``);
        from any thread, never waiting. Dropped when the server is not running."""
        loop = self._loop
        if loop is None or self._server is None or loop.is_closed():
            return
        text = json.dumps(message, allow_nan=False, default=str)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._post, text, agent)

    def _post(self, text: str, agent: str | None) -> None:
        for client in list(self._clients):
            if agent is None or client.inspecting == agent:
                self._put(client, text)

    def _put(self, client: _Client, text: str) -> None:
        try:
            client.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self._rebase(client, clear=True)
            self._resyncs += 1
            client.outbox.put_nowait(text)

    def _rewatch(self) -> None:
        self._watched = frozenset(c.inspecting for c in self._clients if c.inspecting)

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
        if self._controls is not None:
            client.outbox.put_nowait(json.dumps(self._controls.hello()))
        self._rebase(client, clear=False)
        self._clients.add(client)
        self._served += 1
        sender = asyncio.create_task(self._send(client))
        reader = asyncio.create_task(self._read(client))
        try:
            await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._clients.discard(client)
            self._rewatch()
            sender.cancel()
            reader.cancel()

    async def _send(self, client: _Client) -> None:
        try:
            while True:
                await client.connection.send(await client.outbox.get())
        except ConnectionClosed:
            pass

    async def _read(self, client: _Client) -> None:
        """Answer ``{"type": "snapshot"}`` and the page's control messages
        (:mod:`~townlet.telemetry.observer.controls`); ignore anything else."""
        try:
            async for message in client.connection:
                try:
                    request = json.loads(message)
                except (ValueError, RecursionError):
                    continue
                if not isinstance(request, dict):
                    continue
                kind = request.get("type")
                if kind == "snapshot":
                    self._rebase(client, clear=True)
                elif self._controls is not None:
                    await self._control(client, self._controls, kind, request)
        except ConnectionClosed:
            pass

    async def _control(
        self, client: _Client, controls: ObserverControls, kind: Any, request: dict[str, Any]
    ) -> None:
        def refuse(why: str) -> None:
            self._put(client, json.dumps({"type": "error", "request": str(kind), "message": why}))

        if kind == "speed":
            if controls.pacer is None:
                return refuse("this stream's speed cannot be changed")
            try:
                controls.pacer.set_speed(request.get("speed"))
            except ValueError as exc:
                refuse(str(exc))
        elif kind == "console":
            run = controls.console
            if run is None:
                return refuse("no console on this stream")
            raw = {k: request[k] for k in ("cmd_id", "token", "command", "args") if k in request}
            if client.console_waiting >= CONSOLE_IN_FLIGHT:
                busy = {
                    "type": "console_result",
                    "cmd_id": str(raw.get("cmd_id", ""))[:128],
                    "ok": False,
                    "code": "busy",
                    "message": f"{CONSOLE_IN_FLIGHT} console requests are already waiting "
                    "for the town",
                    "data": {},
                }
                self._put(client, json.dumps(busy))
                return None
            client.console_waiting += 1
            loop = asyncio.get_running_loop()
            task = asyncio.ensure_future(
                self._console(client, loop.run_in_executor(None, run, raw))
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif kind == "inspect":
            agent = request.get("agent")
            client.inspecting = agent if isinstance(agent, str) and agent else None
            self._rewatch()
        elif kind == "seek":
            tick = request.get("tick")
            if controls.replay is None:
                return refuse("only a replay can seek")
            if not isinstance(tick, int) or isinstance(tick, bool):
                return refuse(f"seek needs an integer tick (got {tick!r})")
            controls.replay.seek(tick)
        return None

    async def _console(self, client: _Client, answer: asyncio.Future[dict[str, Any]]) -> None:
        try:
            result = await answer
        except Exception as exc:  # the page gets an answer whatever happened
            result = {"ok": False, "code": "internal_error", "message": str(exc)}
        finally:
            client.console_waiting -= 1
        self._put(client, json.dumps({"type": "console_result", **result}, default=str))

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
                "requests_refused": self._requests_refused,
            },
        )
