"""The hub: fan-out, bounded buffers, isolation, resync, cadence, health, stop."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tools.synthetic_town import SyntheticTown
from townlet.core.config.models import TelemetryConfig
from townlet.core.ports import TelemetryEvent
from townlet.core.registry import Registry
from townlet.core.telemetry import TelemetryHub, apply_diff
from townlet.core.telemetry.sinks import NullSink, StdoutSink


def _hub(*sinks: Any, **settings: Any) -> TelemetryHub:
    return TelemetryHub([(f"s{i}", s) for i, s in enumerate(sinks)], TelemetryConfig(**settings))


def _replay(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every world state a consumer of ``payloads`` can rebuild."""
    states: list[dict[str, Any]] = []
    for p in payloads:
        if p["payload_type"] == "world_snapshot":
            states.append(p)
        elif p["payload_type"] == "world_diff":
            states.append(apply_diff(states[-1], p))
    return states


def test_first_world_is_a_snapshot_then_diffs_for_every_sink(recording_sink) -> None:
    a, b = recording_sink(), recording_sink()
    town = SyntheticTown(seed=2)
    expected = []
    with _hub(a, b, health_every=0) as hub:
        for _ in range(50):
            hub.publish_world(town.tick + 1, town.step())
            expected.append(json.loads(json.dumps(hub.snapshot)))
        hub.flush(60)
    for sink in (a, b):
        kinds = [e.kind for e in sink.events]
        assert kinds[0] == "world_snapshot"
        assert set(kinds[1:50]) == {"world_diff"}
        assert kinds[-1] == "health"  # the report at stop
        assert _replay(sink.decoded()) == expected
        assert sink.stopped == 1
    assert a.lines[:50] == b.lines[:50]  # encoded once, shared


def test_payloads_carry_the_envelope(recording_sink, make_record) -> None:
    sink = recording_sink()
    with _hub(sink) as hub:
        hub.publish_world(1, SyntheticTown().step())
        hub.publish_metrics(1, {"kpi.x": 0.5}, scope="day")
        hub.publish_narration(1, [{"category": "c", "text": "t", "agents": []}])
        hub.publish_training_epoch(make_record("1.0", epoch=3))
    got = sink.decoded()
    assert [p["payload_type"] for p in got] == [
        "world_snapshot",
        "metric",
        "narration",
        "training_epoch",
        "health",
    ]
    assert all(p["schema_version"] == "1.0" and isinstance(p["tick"], int) for p in got)
    assert got[1]["metrics"] == {"kpi.x": 0.5} and got[1]["scope"] == "day"
    assert got[3]["tick"] == 3 and got[3]["record"]["epoch"] == 3


def test_a_sink_that_raises_is_isolated(recording_sink) -> None:
    bad, good = recording_sink(), recording_sink()
    bad.fail_on = lambda e: e.kind == "metric"
    with _hub(bad, good, health_every=0) as hub:
        for tick in range(1, 11):
            hub.publish_metrics(tick, {"x": tick})
        health = hub.health()
    health = hub.stop()
    bad_h, good_h = health.sinks
    assert len(good.events) == 11 and good_h.dropped_messages == 0
    assert bad_h.errors == 10 and bad_h.dropped_messages == 10
    assert bad_h.last_error == "emit: RuntimeError: refusing metric at tick 10"
    assert bad_h.last_failure_tick == 10 and bad_h.state == "stopped"
    assert bad_h.emitted == bad_h.delivered + bad_h.dropped_messages


class _BrokenStart:
    Params = NullSink.Params
    plugin_api_version = "2.0"

    def __init__(self, params: Any = None) -> None:
        pass

    def start(self) -> None:
        raise OSError("port in use")

    def emit(self, event: TelemetryEvent) -> None:
        raise AssertionError("never called")

    def stop(self) -> None:
        raise AssertionError("never called")


def test_a_sink_that_fails_to_start_is_reported_and_skipped(recording_sink) -> None:
    good = recording_sink()
    with _hub(_BrokenStart(), good) as hub:
        hub.publish_metrics(1, {"x": 1})
    broken, fine = hub.stop().sinks
    assert broken.state == "failed" and not broken.connected
    assert broken.last_error == "start: OSError: port in use"
    assert broken.emitted == broken.dropped_messages == 2  # the metric and the final health
    assert fine.delivered == 2


def _stuck_in_first_emit(hub: TelemetryHub, until: Callable[..., bool]) -> None:
    """Wait until the (gated) sink holds the first message: the rest stays queued."""
    assert until(lambda: hub.health().sinks[0].in_flight == 1, 60)


def test_overflow_drops_oldest_counts_them_and_resyncs_the_world(recording_sink, until) -> None:
    sink = recording_sink()
    sink.gate.clear()  # the sink stalls: everything piles up in its buffer
    town = SyntheticTown(seed=5)
    with _hub(sink, buffer_messages=5, health_every=0) as hub:
        hub.publish_world(town.tick + 1, town.step())
        _stuck_in_first_emit(hub, until)
        for _ in range(29):
            hub.publish_world(town.tick + 1, town.step())
        h = hub.health().sinks[0]
        assert h.queue_depth <= 5 and h.dropped_messages >= 24
        # the producer never waited: all that went by while the sink was still stuck
        # in its first emit (which would have timed out, as an error, had it waited)
        assert h.delivered == h.errors == 0
        sink.gate.set()
        assert hub.flush(60)
        for _ in range(3):
            hub.publish_world(town.tick + 1, town.step())
        final_world = json.loads(json.dumps(hub.snapshot))
    h = hub.stop().sinks[0]
    assert h.emitted == h.delivered + h.dropped_messages
    states = _replay(sink.decoded())  # never a diff without its base
    assert states[-1] == final_world


def test_byte_bound_drops_too(recording_sink, until) -> None:
    sink = recording_sink()
    sink.gate.clear()
    with _hub(sink, buffer_bytes=2048, health_every=0) as hub:
        for tick in range(100):
            hub.publish_metrics(tick, {f"kpi.{i}": 0.5 for i in range(8)} | {"tick": tick})
            if tick == 0:
                _stuck_in_first_emit(hub, until)
        h = hub.health().sinks[0]
        assert 0 < h.queue_bytes <= 2048 and h.queue_depth < 20
        sink.gate.set()
    h = hub.stop().sinks[0]
    assert h.delivered + h.dropped_messages == h.emitted == 101
    kept = [e.payload["metrics"]["tick"] for e in sink.events if e.kind == "metric"]
    assert kept == sorted(kept) and kept[-1] == 99  # the oldest went first


def test_byte_bound_counts_the_memory_queued_messages_hold(
    recording_sink, until, raw_payloads
) -> None:
    """Behind a sink that takes nothing, the queue's real memory stays near buffer_bytes
    (the decoded payloads take about ten times their JSON)."""
    import tracemalloc

    sink = recording_sink()
    sink.gate.clear()
    town = SyntheticTown(seed=6)
    limit = 1024 * 1024
    worlds = [town.step() for _ in range(1500)]  # built before measuring
    with _hub(sink, buffer_bytes=limit, buffer_messages=1_000_000, health_every=0) as hub:
        hub.publish_world(1, worlds[0])
        _stuck_in_first_emit(hub, until)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for tick, world in enumerate(worlds[1:], start=2):
                hub.publish_world(tick, world)
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        h = hub.health().sinks[0]
        assert h.dropped_messages > 0  # the bound was reached
        assert h.queue_bytes <= limit
        assert held < 1.5 * limit, f"{held:,} bytes held for a {limit:,}-byte bound"
        sink.gate.set()
    h = hub.stop().sinks[0]
    assert h.delivered + h.dropped_messages == h.emitted


def test_world_every_carries_skipped_events_and_narration(recording_sink) -> None:
    sink = recording_sink()
    town = SyntheticTown(seed=9, churn=0.01)
    events: list[Any] = []
    narration: list[Any] = []
    with _hub(sink, world_every=10, health_every=0) as hub:
        for _ in range(100):
            world = town.step()
            if town.tick <= 91:  # ticks 92..100 wait for the next published world
                events += world["events"]
                narration += world["narration"]
            hub.publish_world(town.tick, world)
    worlds = [p for p in sink.decoded() if p["payload_type"].startswith("world")]
    assert [p["tick"] for p in worlds] == list(range(1, 101, 10))
    states = _replay(worlds)
    assert [e for s in states for e in s["events"]] == json.loads(json.dumps(events))
    assert [n for s in states for n in s["narration"]] == json.loads(json.dumps(narration))
    assert events and narration


def test_request_snapshot_and_backwards_ticks_send_full_snapshots(recording_sink) -> None:
    sink = recording_sink()
    town = SyntheticTown(seed=4)
    with _hub(sink, health_every=0) as hub:
        for _ in range(3):
            hub.publish_world(town.tick + 1, town.step())
        hub.request_snapshot()
        hub.publish_world(town.tick + 1, town.step())
        hub.publish_world(2, SyntheticTown(seed=4).step())  # a restored earlier state
    kinds = [e.kind for e in sink.events if e.kind != "health"]
    assert kinds == [
        "world_snapshot",
        "world_diff",
        "world_diff",
        "world_snapshot",
        "world_snapshot",
    ]


def test_health_payloads_every_n_ticks(recording_sink) -> None:
    sink = recording_sink()
    town = SyntheticTown(seed=6)
    with _hub(sink, health_every=10) as hub:
        for tick in range(1, 36):
            hub.publish_world(tick, town.step())
    health = [p for p in sink.decoded() if p["payload_type"] == "health"]
    assert [p["tick"] for p in health] == [11, 21, 31, 35]
    last = health[-1]
    assert last["sinks"][0]["name"] == "s0" and "dropped_messages" in last
    assert set(last["sinks"][0]) >= {
        "connected",
        "last_success_tick",
        "last_failure_tick",
        "last_error",
        "queue_depth",
    }


class _Stuck:
    """Blocks in emit until stopped: stop() must still return in bounded time."""

    Params = NullSink.Params
    plugin_api_version = "2.0"

    def __init__(self) -> None:
        self.release = threading.Event()

    def start(self) -> None:
        pass

    def emit(self, event: TelemetryEvent) -> None:
        if not self.release.wait(30):
            raise TimeoutError

    def stop(self) -> None:
        self.release.set()


def test_stop_is_bounded_with_a_stuck_sink() -> None:
    stuck = _Stuck()
    hub = _hub(stuck, health_every=0, flush_timeout_s=0.2)
    hub.start()
    for tick in range(20):
        hub.publish_metrics(tick, {"x": tick})
    start = time.monotonic()
    health = hub.stop()
    assert time.monotonic() - start < 10  # not the 30 s the stuck sink would take
    h = health.sinks[0]
    assert h.queue_depth == 0 and h.in_flight == 0
    assert h.emitted == h.delivered + h.dropped_messages == 21
    assert hub.stop() is health  # idempotent


def test_publishing_before_start_is_an_error_and_after_stop_a_no_op(recording_sink) -> None:
    hub = _hub(recording_sink())
    with pytest.raises(RuntimeError, match="start"):
        hub.publish_metrics(0, {})
    hub.start()
    hub.stop()
    hub.publish_metrics(1, {"x": 1})  # ignored
    TelemetryHub([]).publish_world(1, {})  # no sinks: nothing to do, no error


def test_hub_from_config_builds_core_sinks_by_name(capsys) -> None:
    config = TelemetryConfig(
        sinks=[{"name": "stdout", "params": {"every": 5}}, {"name": "null"}, {"name": "null"}]
    )
    hub = TelemetryHub.from_config(config, Registry())
    assert hub.sink_names == ["stdout", "null", "null#2"]
    assert isinstance(hub._workers[0].sink, StdoutSink)
    town = SyntheticTown(seed=1)
    with hub:
        for _ in range(11):
            hub.publish_world(town.tick + 1, town.step())
            hub.flush(60)  # at a real-time pace the sink keeps up with the hub
    out = capsys.readouterr().out.splitlines()
    world_lines = [line for line in out if line.startswith("[t=") and "agents" in line]
    assert [line.split()[0] for line in world_lines] == ["[t=1", "[t=6", "[t=11"]
