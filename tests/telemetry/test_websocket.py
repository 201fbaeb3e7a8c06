"""The websocket observer sink, with real websocket clients on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("townlet.telemetry")

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tools.synthetic_town import SyntheticTown
from townlet.core.config.models import TelemetryConfig
from townlet.core.ports import TelemetryEvent
from townlet.core.telemetry import TelemetryHub, apply_diff
from townlet.telemetry.sinks.websocket import WebsocketParams, WebsocketSink, _Client


@pytest.fixture
def served() -> Iterator[tuple[TelemetryHub, WebsocketSink, SyntheticTown]]:
    sink = WebsocketSink(WebsocketParams(port=0))
    hub = TelemetryHub([("websocket", sink)], TelemetryConfig(health_every=0))
    hub.start()
    yield hub, sink, SyntheticTown(seed=8, churn=0.02)
    hub.stop()


def _url(sink: WebsocketSink) -> str:
    assert sink.address is not None
    host, port = sink.address
    return f"ws://{host}:{port}"


def _publish(hub: TelemetryHub, town: SyntheticTown, ticks: int) -> None:
    for _ in range(ticks):
        hub.publish_world(town.tick + 1, town.step())


def _follow(client: ClientConnection, until_tick: int) -> tuple[dict[str, Any], list[str]]:
    """Rebuild the world from what the client receives until it reaches ``until_tick``."""
    state: dict[str, Any] | None = None
    kinds: list[str] = []
    deadline = time.monotonic() + 60  # a hang guard
    while state is None or state["tick"] < until_tick:
        message = json.loads(client.recv(timeout=max(0.01, deadline - time.monotonic())))
        kinds.append(message["payload_type"])
        if message["payload_type"] == "world_snapshot":
            state = message
        elif message["payload_type"] == "world_diff":
            assert state is not None, "a diff before any snapshot"
            state = apply_diff(state, message)
    return state, kinds


def test_clients_get_a_snapshot_then_diffs(served) -> None:
    hub, sink, town = served
    assert sink.address is not None and sink.address[0] == "127.0.0.1"
    with connect(_url(sink), open_timeout=60) as early:
        _publish(hub, town, 30)
        with connect(_url(sink), open_timeout=60) as late:  # joins mid-stream
            _publish(hub, town, 30)
            hub.flush(60)
            expected = json.loads(json.dumps(hub.snapshot))
            for client in (early, late):
                state, kinds = _follow(client, town.tick)
                assert kinds[0] == "world_snapshot"
                assert set(kinds[1:]) <= {"world_diff"}
                assert state == expected
            assert sink.health().detail["clients"] == 2
            hub.publish_metrics(town.tick, {"kpi": 1.0})
            assert json.loads(late.recv(timeout=60))["payload_type"] == "metric"


def test_a_client_can_ask_for_a_fresh_snapshot(served) -> None:
    hub, sink, town = served
    _publish(hub, town, 5)
    hub.flush(60)
    with connect(_url(sink), open_timeout=60) as client:
        first = json.loads(client.recv(timeout=60))
        assert first["payload_type"] == "world_snapshot" and first["tick"] == town.tick
        client.send(json.dumps({"type": "snapshot"}))
        again = json.loads(client.recv(timeout=60))
        assert again == first
        client.send("not json")  # ignored
        _publish(hub, town, 1)
        assert json.loads(client.recv(timeout=60))["payload_type"] == "world_diff"


def _close_code(client: ClientConnection) -> int | None:
    """Read until the server closes the connection; its close code."""
    try:
        while True:
            client.recv(timeout=60)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


def test_too_many_clients_are_refused() -> None:
    sink = WebsocketSink(WebsocketParams(port=0, max_clients=1))
    sink.start()
    try:
        with connect(_url(sink), open_timeout=60), connect(_url(sink), open_timeout=60) as extra:
            assert _close_code(extra) == 1013
        assert sink.health().detail["clients_refused"] == 1
    finally:
        sink.stop()


def test_stop_closes_clients_going_away(served) -> None:
    hub, sink, town = served
    with connect(_url(sink), open_timeout=60) as client:
        _publish(hub, town, 3)
        _follow(client, town.tick)
        health = hub.stop().sinks[0]
        assert (
            json.loads(client.recv(timeout=60))["payload_type"] == "health"
        )  # sent before closing
        assert _close_code(client) == 1001
    assert health.delivered == health.emitted == 4  # 3 worlds and the final health report
    assert health.detail["clients_served"] == 1


def test_a_lagging_client_is_resynced_with_a_snapshot() -> None:
    sink = WebsocketSink(WebsocketParams(client_queue=3))
    client = _Client(connection=None, size=3)  # type: ignore[arg-type]
    sink._clients.add(client)
    town = SyntheticTown(seed=1)
    from townlet.core.telemetry import make_diff, make_payload

    worlds = [make_payload("world_snapshot", t, town.step()) for t in range(1, 6)]
    for t in range(1, 6):
        world = worlds[t - 1]
        payload = world if t == 1 else make_diff(worlds[t - 2], world)
        sink._pending.acquire()
        event = TelemetryEvent(payload["payload_type"], t, payload)
        sink._dispatch([(event, payload.encoded().decode())])
    queued = [json.loads(client.outbox.get_nowait()) for _ in range(client.outbox.qsize())]
    # tick 4 overflowed the queue of 3: it was replaced by the world at tick 4
    assert [(q["payload_type"], q["tick"]) for q in queued] == [
        ("world_snapshot", 4),
        ("world_diff", 5),
    ]
    assert queued[0] == json.loads(json.dumps(worlds[3]))
    assert sink.health().detail["client_resyncs"] == 1


def test_start_fails_cleanly_on_a_busy_port() -> None:
    first = WebsocketSink(WebsocketParams(port=0))
    first.start()
    try:
        assert first.address is not None
        second = WebsocketSink(WebsocketParams(port=first.address[1]))
        with pytest.raises(OSError, match="address already in use"):
            second.start()
    finally:
        first.stop()
