"""The jsonl sink: lines, rotation by size and time, gzip, retention, self-contained segments."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("townlet.telemetry")

from pydantic import ValidationError

from tools.synthetic_town import SyntheticTown
from townlet.core.config.models import TelemetryConfig
from townlet.core.ports import TelemetryEvent
from townlet.core.telemetry import TelemetryHub, apply_diff
from townlet.telemetry.logs import read_log
from townlet.telemetry.sinks import jsonl as jsonl_module
from townlet.telemetry.sinks.jsonl import JsonlParams, JsonlSink
from townlet.telemetry.validate import validate_lines


def _run(tmp_path: Path, ticks: int = 300, **params: Any) -> tuple[JsonlSink, dict[str, Any]]:
    """Publish a town at a pace the sink keeps up with (it catches up every 10 ticks)."""
    sink = JsonlSink(JsonlParams(path=str(tmp_path / "logs" / "town.jsonl"), **params))
    town = SyntheticTown(seed=3, churn=0.01)
    with TelemetryHub([("jsonl", sink)], TelemetryConfig(health_every=100)) as hub:
        for _ in range(ticks):
            hub.publish_world(town.tick + 1, town.step())
            if town.tick % 10 == 0:
                hub.flush(60)
        final = json.loads(json.dumps(hub.snapshot))
    return sink, final


def _worlds(path: Path) -> list[dict[str, Any]]:
    states: list[dict[str, Any]] = []
    for line in read_log(path):
        assert line.obj is not None
        if line.obj["payload_type"] == "world_snapshot":
            states.append(line.obj)
        elif line.obj["payload_type"] == "world_diff":
            states.append(apply_diff(states[-1], line.obj))
    return states


def test_one_file_one_payload_per_line(tmp_path: Path) -> None:
    sink, final = _run(tmp_path, ticks=100)
    lines = sink.path.read_bytes().splitlines()
    assert len(lines) == 100 + 1  # worlds, then the health report at stop
    assert json.loads(lines[0])["payload_type"] == "world_snapshot"
    assert _worlds(sink.path)[-1] == final
    assert validate_lines(read_log(sink.path)).ok


@pytest.mark.parametrize("gzip", [False, True])
def test_size_rotation_gives_self_contained_segments(tmp_path: Path, gzip: bool) -> None:
    sink, final = _run(tmp_path, rotate_bytes=20_000, gzip=gzip)
    segments = [*sink.rotated_segments(), sink.path]
    assert len(segments) >= 5  # ~1 KiB a tick: a segment closes at the world after 20 KB
    suffix = ".jsonl.gz" if gzip else ".jsonl"
    assert [p.name for p in segments[:2]] == [f"town.000001{suffix}", f"town.000002{suffix}"]
    ticks: list[int] = []
    for segment in segments:
        assert (segment.read_bytes()[:2] == b"\x1f\x8b") is gzip
        report = validate_lines(read_log(segment))
        assert report.ok, report.problems[:3]  # each segment starts with a full snapshot
        ticks += [s["tick"] for s in _worlds(segment)]
    assert ticks == list(range(1, 301))  # nothing lost or repeated across segments
    assert _worlds(segments[-1])[-1] == final


def test_time_rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(jsonl_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    sink = JsonlSink(JsonlParams(path=str(tmp_path / "t.jsonl"), rotate_seconds=60))
    sink.start()
    for tick in range(10):
        sink.emit(TelemetryEvent("metric", tick, {"payload_type": "metric", "tick": tick}))
        now[0] += 15
    sink.stop()
    assert [p.name for p in sink.rotated_segments()] == ["t.000001.jsonl", "t.000002.jsonl"]
    counts = [len(p.read_text().splitlines()) for p in [*sink.rotated_segments(), sink.path]]
    assert counts == [5, 4, 1]  # a segment closes with the first line written at 60 s or later


def test_keep_deletes_the_oldest_segments(tmp_path: Path) -> None:
    sink, _ = _run(tmp_path, rotate_bytes=20_000, keep=2)
    rotated = sink.rotated_segments()
    assert len(rotated) == 2
    assert int(rotated[0].name.split(".")[1]) > 1


def test_a_file_left_by_an_earlier_run_is_rotated_not_overwritten(tmp_path: Path) -> None:
    first, _ = _run(tmp_path, ticks=10)
    earlier = first.path.read_bytes()
    second, _ = _run(tmp_path, ticks=10)
    assert [p.read_bytes() for p in second.rotated_segments()] == [earlier]
    assert second.path.read_bytes().startswith(b'{"schema_version"')


def test_params_are_checked() -> None:
    with pytest.raises(ValidationError, match="'keep' needs rotate_bytes or rotate_seconds"):
        JsonlParams(path="x.jsonl", keep=3)
    with pytest.raises(ValidationError, match="greater than or equal to 1024"):
        JsonlParams(path="x.jsonl", rotate_bytes=10)
    with pytest.raises(ValidationError, match="Extra inputs"):
        JsonlParams(path="x.jsonl", rotation="daily")


def test_health_reports_the_live_file(tmp_path: Path) -> None:
    sink = JsonlSink(JsonlParams(path=str(tmp_path / "h.jsonl"), gzip=True))
    assert sink.path.name == "h.jsonl.gz"
    sink.start()
    assert sink.health().connected and sink.health().detail["path"].endswith("h.jsonl.gz")
    sink.stop()
    sink.stop()
    assert not sink.health().connected


class _SlowWorld:
    """A world source that never has the world at hand: the sink must ask for it."""

    def __init__(self) -> None:
        self.requests = 0

    def observe(self, event: TelemetryEvent) -> None:
        pass

    def snapshot_now(self) -> None:
        return None

    def latest(self) -> None:
        return None

    def request_snapshot(self) -> None:
        self.requests += 1


def test_a_full_segment_waits_for_the_snapshot_it_asked_for(tmp_path: Path) -> None:
    from townlet.core.telemetry import make_diff, make_payload

    sink = JsonlSink(JsonlParams(path=str(tmp_path / "w.jsonl"), rotate_bytes=1024))
    world = _SlowWorld()
    sink.bind_world(world)
    sink.start()
    town = SyntheticTown(seed=2)
    snaps = [make_payload("world_snapshot", t, town.step()) for t in range(1, 5)]
    sink.emit(TelemetryEvent("world_snapshot", 1, snaps[0]))  # > 1 KiB: the segment is full
    for t in (2, 3):  # diffs still go to the full segment, once asked
        sink.emit(TelemetryEvent("world_diff", t, make_diff(snaps[t - 2], snaps[t - 1])))
    assert world.requests == 1 and not sink.rotated_segments()
    sink.emit(TelemetryEvent("world_snapshot", 4, snaps[3]))  # the answer opens a segment
    sink.stop()
    (old,) = sink.rotated_segments()
    assert [json.loads(x)["tick"] for x in old.read_text().splitlines()] == [1, 2, 3]
    assert [json.loads(x)["tick"] for x in sink.path.read_text().splitlines()] == [4]


def test_the_hub_answers_a_segments_request(tmp_path: Path) -> None:
    sink = JsonlSink(JsonlParams(path=str(tmp_path / "h.jsonl"), rotate_bytes=4096))
    town = SyntheticTown(seed=5)
    with TelemetryHub([("jsonl", sink)], TelemetryConfig(health_every=0)) as hub:
        for _ in range(200):  # publishing far ahead of the sink: it has to ask
            hub.publish_world(town.tick + 1, town.step())
    for segment in [*sink.rotated_segments(), sink.path]:
        first = json.loads(segment.read_text().splitlines()[0])
        assert first["payload_type"] == "world_snapshot"
        assert validate_lines(read_log(segment)).ok


# -- delivered means written -------------------------------------------------------


def _limit_file_size(limit: int) -> None:
    """In the child: files may grow to ``limit`` bytes; bigger writes fail with EFBIG."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _sink_counts(health_lines: list[str], name: str) -> tuple[int, int, int]:
    import re

    (line,) = [x for x in health_lines if x.startswith(f"{name}:")]
    match = re.search(r"(\d+)/(\d+) delivered, (\d+) dropped", line)
    assert match is not None, line
    delivered, emitted, dropped = map(int, match.groups())
    return delivered, emitted, dropped


@pytest.mark.parametrize("gzip", [False, True])
def test_delivered_counts_the_lines_in_the_file_when_writes_fail(
    tmp_path: Path, gzip: bool
) -> None:
    """A file that can grow no further (as on a full disk): what the run reports as
    delivered is exactly what the file holds, and the failure is reported."""
    import gzip as gz
    import subprocess
    import sys

    out = tmp_path / "logs" / "town.jsonl"
    sinks = json.dumps([{"name": "jsonl", "params": {"path": str(out), "gzip": gzip}}])
    limit = 6_000 if gzip else 60_000
    proc = subprocess.run(
        [sys.executable, "-m", "townlet.core", "run", "--ticks", "400", "--json",
         "--set", f"telemetry.sinks={sinks}", "--set", "telemetry.health_every=0"],
        capture_output=True, text=True, timeout=120, preexec_fn=lambda: _limit_file_size(limit),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    health = json.loads(proc.stdout)["health"]
    delivered, emitted, dropped = _sink_counts(health, "jsonl")
    assert dropped > 0
    assert "errors (last: emit: OSError: [Errno 27] File too large)" in health[0]
    assert delivered + dropped == emitted
    path = out.with_name(out.name + ".gz") if gzip else out
    assert path.stat().st_size <= limit
    data = gz.decompress(path.read_bytes()) if gzip else path.read_bytes()  # a whole gzip file
    assert data.endswith(b"\n")
    assert len(data.splitlines()) == delivered
    assert validate_lines(read_log(path)).ok


@pytest.mark.parametrize("gzip", [False, True])
def test_a_deleted_directory_is_reported_and_recreated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gzip: bool
) -> None:
    import shutil

    from townlet.telemetry.sinks import _segment

    monkeypatch.setattr(_segment, "CHECK_EVERY_S", 0.0)
    sink = JsonlSink(JsonlParams(path=str(tmp_path / "logs" / "town.jsonl"), gzip=gzip))
    town = SyntheticTown(seed=4)
    with TelemetryHub([("jsonl", sink)], TelemetryConfig(health_every=0)) as hub:
        for _ in range(20):
            hub.publish_world(town.tick + 1, town.step())
        assert hub.flush(60)
        before = hub.health().sinks[0].delivered
        shutil.rmtree(tmp_path / "logs")
        for _ in range(40):
            hub.publish_world(town.tick + 1, town.step())
            hub.flush(60)
    (health,) = hub.health().sinks
    assert health.errors >= 1 and "deleted" in str(health.last_error)
    assert health.detail["write_errors"] >= 1
    assert health.delivered + health.dropped_messages == health.emitted
    lines = list(read_log(sink.path))
    assert len(lines) == health.delivered - before  # what went into the new file
    assert lines[0].obj is not None and lines[0].obj["payload_type"] == "world_snapshot"
    assert validate_lines(read_log(sink.path)).ok


def test_every_gzip_batch_leaves_a_whole_gzip_file(tmp_path: Path) -> None:
    """Killed at any point between batches, the segment still reads to its end."""
    import gzip as gz

    sink = JsonlSink(JsonlParams(path=str(tmp_path / "g.jsonl"), gzip=True))
    sink.start()
    town = SyntheticTown(seed=1)
    from townlet.core.telemetry import make_payload

    for tick in range(1, 6):
        sink.emit_batch(
            [
                TelemetryEvent(
                    "world_snapshot", tick, make_payload("world_snapshot", tick, town.step())
                )
            ]
        )
        assert len(gz.decompress(sink.path.read_bytes()).splitlines()) == tick
    sink.stop()


def test_stop_from_another_thread_never_closes_a_file_being_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub stops a slow sink from its own thread: the descriptor stays open until the
    write in progress returns, and no later batch opens the file again."""
    import threading

    from townlet.core.telemetry import PartialDelivery, make_payload
    from townlet.telemetry.sinks._segment import SegmentFile

    sink = JsonlSink(JsonlParams(path=str(tmp_path / "t.jsonl")))
    sink.start()
    writing, release = threading.Event(), threading.Event()
    real_append = SegmentFile.append

    def slow_append(segment: SegmentFile, data: bytes) -> None:
        writing.set()
        release.wait()
        real_append(segment, data)

    monkeypatch.setattr(SegmentFile, "append", slow_append)
    monkeypatch.setattr(jsonl_module, "STOP_WAIT_S", 0.0)
    town = SyntheticTown(seed=2)
    event = TelemetryEvent("world_snapshot", 1, make_payload("world_snapshot", 1, town.step()))
    results: list[int] = []
    writer = threading.Thread(target=lambda: results.append(sink.emit_batch([event])))
    writer.start()
    assert writing.wait(30)
    sink.stop()  # gives up waiting at once; the writer still holds the file
    assert sink.health().connected
    release.set()
    writer.join(30)
    assert results == [1] and not sink.health().connected  # closed by the writer
    with pytest.raises(PartialDelivery):
        sink.emit_batch([event])
    assert not sink.health().connected
    assert len(sink.path.read_bytes().splitlines()) == 1


def test_a_segment_is_synced_when_it_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One fsync per finished segment and one of the directory per rotation, none per batch."""
    import os

    from townlet.telemetry.sinks import _segment

    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(_segment.os, "fsync", fsync)
    sink, _ = _run(tmp_path, ticks=100, rotate_bytes=20_000)
    segments = [*sink.rotated_segments(), sink.path]
    assert len(segments) >= 2
    logs = str(tmp_path / "logs")
    assert synced.count(str(sink.path)) == len(segments)  # synced before its rename
    assert synced.count(logs) == len(segments) - 1
    assert len(synced) == 2 * len(segments) - 1
