"""The core sinks (stdout, null) and the optional sink members the hub honours."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tools.synthetic_town import SyntheticTown
from townlet.core.config.models import TelemetryConfig
from townlet.core.ports import TelemetryEvent, TelemetrySink
from townlet.core.telemetry import TelemetryHub, TransportHealth
from townlet.core.telemetry.sinks import (
    NullParams,
    NullSink,
    StdoutParams,
    StdoutSink,
    format_world_line,
)


def test_core_sinks_satisfy_the_port() -> None:
    assert isinstance(NullSink(NullParams()), TelemetrySink)
    assert isinstance(StdoutSink(StdoutParams()), TelemetrySink)
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        StdoutParams(every=0)


def test_stdout_prints_the_town_narration_metrics_and_epochs(capsys, make_record) -> None:
    sink = StdoutSink(StdoutParams(every=50))
    town = SyntheticTown(seed=4, churn=0.0)
    narrated: list[str] = []
    with TelemetryHub([("stdout", sink)], TelemetryConfig(health_every=0)) as hub:
        for _ in range(120):
            world = town.step()
            narrated += [
                f"[t={town.tick}] ({n['category']}) {n['text']}" for n in world["narration"]
            ]
            hub.publish_world(town.tick, world)
            hub.flush(60)  # a real-time pace: the sink keeps up
        hub.publish_metrics(120, {"kpi.self_sufficiency": 0.875, "population": 8}, scope="day")
        hub.publish_narration(
            121, [{"category": "left_town", "text": "Bo left town (eviction)", "agents": []}]
        )
        hub.publish_training_epoch(make_record("1.2", epoch=7))
    out = capsys.readouterr().out.splitlines()
    world_lines = [line for line in out if " agents | " in line]
    assert [line.split("]")[0] for line in world_lines] == [
        "[t=1 d0 00:01",
        "[t=51 d0 01:13",
        "[t=101 d0 02:25",
    ]
    assert world_lines[0].endswith("queued 0 | events 0")
    assert "sunny | power on, water on | hunger " in world_lines[0]
    assert narrated and [line for line in out if line in narrated] == narrated
    assert "[t=120] metrics/day kpi.self_sufficiency=0.875 population=8" in out
    assert "[t=121] (left_town) Bo left town (eviction)" in out
    assert any(
        line.startswith("[epoch 7] loss 0.128") and "anneal 0.80 (anneal)" in line for line in out
    )
    assert not any("health" in line for line in out)  # nothing wrong: no health line


def test_stdout_health_lines_and_stderr(capsys) -> None:
    sink = StdoutSink(StdoutParams(stream="stderr", health="always"))
    sink.emit(
        TelemetryEvent(
            "health",
            5,
            {"sinks": [{"name": "tcp", "state": "running", "delivered": 3, "emitted": 4,
                        "dropped_messages": 1, "last_error": "send: BrokenPipeError"}]},
        )
    )  # fmt: skip
    sink.stop()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "[t=5] health: tcp running 3/4 dropped 1 error send: BrokenPipeError\n"


def test_world_line_of_an_empty_town() -> None:
    line = format_world_line({"tick": 3, "agents": {}, "weather": "rainy"})
    assert line == "[t=3 d0 00:00] 0 agents | rainy | queued 0 | events 0"


class _BatchSink:
    """Takes batches; declines the diffs of each batch, as a sink replacing them would."""

    Params = NullParams
    plugin_api_version = "2.0"

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.connected = True

    def start(self) -> None:
        pass

    def emit(self, event: TelemetryEvent) -> None:
        raise AssertionError("the hub prefers emit_batch")

    def emit_batch(self, events: Sequence[TelemetryEvent]) -> int:
        self.batches.append(len(events))
        return sum(e.kind != "world_diff" for e in events)

    def stop(self) -> None:
        pass

    def health(self) -> TransportHealth:
        return TransportHealth(connected=self.connected, last_error="flaky", detail={"x": 1})


def test_the_hub_uses_emit_batch_and_health_when_a_sink_has_them() -> None:
    sink = _BatchSink()
    with TelemetryHub([("batch", sink)], TelemetryConfig(health_every=0)) as hub:
        town = SyntheticTown(seed=3)
        for _ in range(20):
            world = town.step()
            hub.publish_world(town.tick, world)
        hub.flush(60)
        sink.connected = False
        live = hub.health().sinks[0]
    assert not live.connected and live.detail == {"x": 1, "transport_error": "flaky"}
    assert live.last_error == "flaky"  # the transport's, while the hub has none of its own
    final = hub.stop().sinks[0]
    assert sum(sink.batches) == 21
    assert final.delivered == 2 and final.dropped_messages == 19  # the snapshot and health


def test_null_sink_discards() -> None:
    sink = NullSink(NullParams())
    sink.start()
    sink.emit(TelemetryEvent("metric", 1, {"x": 1}))
    sink.stop()
