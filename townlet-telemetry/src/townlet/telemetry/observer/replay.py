"""``townlet telemetry replay LOG --observe``: a recorded stream in the observer, with a scrubber.

The log is read once into a :class:`RecordedStream`: every payload in order,
with a keyframe (the whole world) every :data:`KEYFRAME_EVERY` world
messages, so seeking to any recorded tick rebuilds the world from the nearest
keyframe instead of from the start. :func:`serve_replay` plays it into a
``websocket`` sink at the page's speed (1×: 250 ms per recorded world
message) and jumps wherever the page's scrubber asks.
"""

from __future__ import annotations

import bisect
import copy
import queue
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from townlet.core.ports import TelemetryEvent
from townlet.core.telemetry import SnapshotTracker
from townlet.telemetry.logs import LogLine
from townlet.telemetry.observer.controls import ObserverControls, ReplayRange
from townlet.telemetry.observer.pacing import Pacer
from townlet.telemetry.sinks.websocket import WebsocketParams, WebsocketSink

__all__ = ["KEYFRAME_EVERY", "RecordedStream", "serve_replay"]

KEYFRAME_EVERY: Final = 200
"""World messages between two kept whole worlds (seek cost vs memory)."""

_SKIPPED: Final = frozenset({"health", "training_epoch"})  # about the recording run, not the town


@dataclass
class RecordedStream:
    """The payloads of a log, indexed by tick for seeking."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    world_index: list[int] = field(default_factory=list)
    """Positions in :attr:`payloads` of the world messages, in order."""
    world_ticks: list[int] = field(default_factory=list)
    keyframes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """``(position of a world message, the whole world after it)``."""
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """``(line number, why)`` of lines left out."""

    @classmethod
    def read(cls, lines: Iterable[LogLine]) -> RecordedStream:
        """Index a log's world stream; unreadable lines and breaks in the stream are skipped."""
        out = cls()
        tracker = SnapshotTracker()
        for line in lines:
            obj = line.obj
            if line.kind == "error" or obj is None:
                out.skipped.append((line.lineno, line.error or "unreadable"))
                continue
            kind = obj.get("payload_type")
            if line.kind == "training" or kind in _SKIPPED:
                continue
            tick = obj.get("tick")
            if not isinstance(kind, str) or not isinstance(tick, int):
                out.skipped.append((line.lineno, "payload without a type or an integer tick"))
                continue
            if kind in ("world_snapshot", "world_diff"):
                tracker.observe(obj)
                if tracker.snapshot is None:
                    out.skipped.append((line.lineno, "world_diff that does not follow the stream"))
                    continue
                if out.world_ticks and tick < out.world_ticks[-1] and kind != "world_snapshot":
                    out.skipped.append((line.lineno, "world message going back in time"))
                    continue
                position = len(out.payloads)
                if kind == "world_snapshot" or len(out.world_index) % KEYFRAME_EVERY == 0:
                    out.keyframes.append((position, copy.deepcopy(tracker.snapshot)))
                out.world_index.append(position)
                out.world_ticks.append(tick)
            out.payloads.append(obj)
        if not out.world_index:
            raise ValueError("the log holds no world stream (world_snapshot payloads) to observe")
        return out

    @property
    def first_tick(self) -> int:
        """The first recorded world tick."""
        return min(self.world_ticks)

    @property
    def last_tick(self) -> int:
        """The last recorded world tick."""
        return max(self.world_ticks)

    def world_at(self, tick: int) -> tuple[int, dict[str, Any]]:
        """``(position, whole world)`` of the last world message at or before ``tick``
        (the first one when ``tick`` is earlier than the recording)."""
        w = max(0, bisect.bisect_right(self.world_ticks, tick) - 1)
        target = self.world_index[w]
        k = bisect.bisect_right([p for p, _ in self.keyframes], target) - 1
        start, base = self.keyframes[max(0, k)]
        tracker = SnapshotTracker()
        tracker.observe(base)
        for position in self.world_index[self.world_index.index(start) + 1 : w + 1]:
            tracker.observe(self.payloads[position])
        state = tracker.snapshot
        assert state is not None  # every kept diff follows the stream
        whole = copy.deepcopy(state)
        whole["payload_type"] = "world_snapshot"
        whole.pop("base_tick", None)
        whole.pop("changes", None)
        return target, whole


def serve_replay(
    recorded: RecordedStream,
    params: WebsocketParams,
    *,
    town: dict[str, Any] | None = None,
    announce: Callable[[str], None] = print,
    stopping: Callable[[], bool] = lambda: False,
    speed: str = "1",
) -> WebsocketSink:
    """Serve ``recorded`` to observer pages until ``stopping()``; returns the stopped sink.

    At the end of the recording the replay pauses; the scrubber can still
    seek anywhere.
    """
    sink = WebsocketSink(params)
    pacer = Pacer(speed)
    seeks: queue.SimpleQueue[int] = queue.SimpleQueue()
    controls = ObserverControls(
        mode="replay",
        pacer=pacer,
        town=town,
        replay=ReplayRange(recorded.first_tick, recorded.last_tick, seeks.put),
    )
    sink.bind_observer(controls)
    sink.start()
    try:
        announce(f"observer: {sink.url}")
        position = _show(sink, recorded, recorded.first_tick)
        while not stopping():
            if not seeks.empty():
                target = seeks.get()
                while not seeks.empty():  # a dragged scrubber: only the last place counts
                    target = seeks.get()
                position = _show(sink, recorded, target)
                continue
            if position >= len(recorded.payloads):
                if pacer.speed != "pause":
                    pacer.set_speed("pause")
                pacer.wait(lambda: stopping() or not seeks.empty())
                continue
            pacer.wait(lambda: stopping() or not seeks.empty())
            if stopping() or not seeks.empty():
                continue
            position = _play_step(sink, recorded, position)
    finally:
        sink.stop()
    return sink


def _emit(sink: WebsocketSink, payload: dict[str, Any]) -> None:
    sink.emit(TelemetryEvent(str(payload["payload_type"]), int(payload["tick"]), payload))


def _show(sink: WebsocketSink, recorded: RecordedStream, tick: int) -> int:
    """Send the whole world at ``tick``; returns the position to play on from."""
    position, whole = recorded.world_at(tick)
    _emit(sink, whole)
    return position + 1


def _play_step(sink: WebsocketSink, recorded: RecordedStream, position: int) -> int:
    """Send the payloads up to and including the next world message."""
    while position < len(recorded.payloads):
        payload = recorded.payloads[position]
        _emit(sink, payload)
        position += 1
        if payload["payload_type"] in ("world_snapshot", "world_diff"):
            break
    return position
