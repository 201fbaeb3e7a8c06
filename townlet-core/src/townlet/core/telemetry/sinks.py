"""The core's own telemetry sinks: ``stdout`` (for developers) and ``null``.

Both are plugins registered under ``townlet.telemetry_sinks`` by townlet-core,
exactly as third-party sinks are.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TextIO

from pydantic import BaseModel, Field

from townlet.core.ports import PLUGIN_API_VERSION, PluginParams, TelemetryEvent
from townlet.core.telemetry.world_source import TrackingWorldSource, WorldSource

__all__ = ["NullSink", "StdoutSink", "format_world_line"]


class NullParams(PluginParams):
    """The ``null`` sink takes no parameters."""


class NullSink:
    """Discards every event (for benchmarks and runs that need no telemetry output)."""

    Params: ClassVar[type[BaseModel]] = NullParams
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION

    def __init__(self, params: NullParams) -> None:
        self.params = params

    def start(self) -> None:
        """Nothing to open."""

    def emit(self, event: TelemetryEvent) -> None:
        """Drop the event."""

    def stop(self) -> None:
        """Nothing to close."""


class StdoutParams(PluginParams):
    """Parameters of the ``stdout`` sink."""

    every: int = Field(
        100, ge=1, le=100_000_000, description="Print one world line every N ticks (1..100000000)."
    )
    stream: Literal["stdout", "stderr"] = Field("stdout", description="Where to print.")
    narration: bool = Field(True, description="Print narration items as they come.")
    metrics: bool = Field(
        True, description="Print metric payloads (e.g. daily KPIs) and stability windows."
    )
    training: bool = Field(True, description="Print one line per training epoch.")
    health: Literal["never", "problems", "always"] = Field(
        "problems",
        description="Print health payloads: never, only when a sink dropped or failed, or always.",
    )


class StdoutSink:
    """Prints compact human-readable lines: the town every N ticks, narration, metrics.

    The periodic line shows the world at the first tick it is due for which the
    whole world is at hand (the hub sends it whole on request).

    Example output::

        [t=1200 d1 04:48] 8 agents | sunny | power on, water on | hunger .62 hygiene .71 ...
        [t=1203] (conflict) Ada is late and Bo is blocking the shower
        [t=2000] metrics/day kpi.self_sufficiency=0.875 kpi.lateness=0.125
    """

    Params: ClassVar[type[BaseModel]] = StdoutParams
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION

    def __init__(self, params: StdoutParams) -> None:
        self.params = params
        self._world: WorldSource = TrackingWorldSource()
        self._last_line: int | None = None
        self._asked = False

    def bind_world(self, source: WorldSource) -> None:
        """Use the hub's world for the periodic line instead of following diffs."""
        self._world = source

    def _out(self) -> TextIO:
        return sys.stdout if self.params.stream == "stdout" else sys.stderr

    def start(self) -> None:
        """Nothing to open: lines go to the process's stdout or stderr."""

    def emit(self, event: TelemetryEvent) -> None:
        """Print the lines this event calls for (possibly none)."""
        self.emit_batch([event])

    def emit_batch(self, events: Sequence[TelemetryEvent]) -> None:
        """Print the lines of several events in one write."""
        lines = [line for event in events for line in self._lines(event)]
        if lines:
            self._out().write("\n".join(lines) + "\n")

    def _lines(self, event: TelemetryEvent) -> list[str]:
        payload = event.payload
        kind = event.kind
        lines: list[str] = []
        if kind in ("world_snapshot", "world_diff"):
            self._world.observe(event)
            if self._due(event.tick):
                world = payload if kind == "world_snapshot" else self._world.snapshot_now()
                if world is not None:
                    lines.append(format_world_line(world))
                    self._last_line = event.tick
                elif not self._asked:  # the hub sends the world whole next time
                    self._world.request_snapshot()
                    self._asked = True
            if kind == "world_snapshot":
                self._asked = False
            if self.params.narration:
                lines += [_narration_line(event.tick, n) for n in _world_narration(payload)]
        elif kind == "narration" and self.params.narration:
            lines += [_narration_line(event.tick, n) for n in payload.get("items", ())]
        elif kind == "metric" and self.params.metrics:
            lines.append(_metric_line(event.tick, payload))
        elif kind == "stability" and self.params.metrics:
            lines.append(_stability_line(event.tick, payload))
        elif kind == "training_epoch" and self.params.training:
            lines.append(_training_line(payload.get("record", {})))
        elif kind == "health" and self._wants_health(payload):
            lines.append(_health_line(event.tick, payload))
        return lines

    def flush(self) -> None:
        """Flush the stream."""
        self._out().flush()

    def stop(self) -> None:
        """Flush the stream (it stays open)."""
        self.flush()

    def _due(self, tick: int) -> bool:
        last = self._last_line
        return last is None or tick < last or tick - last >= self.params.every

    def _wants_health(self, payload: Mapping[str, Any]) -> bool:
        mode = self.params.health
        if mode == "always":
            return True
        if mode == "never":
            return False
        return any(
            s.get("dropped_messages") or s.get("errors") or s.get("state") == "failed"
            for s in payload.get("sinks", ())
        )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _num(value: float) -> str:
    text = f"{value:.2f}"
    return text[1:] if text.startswith("0.") else text


def format_world_line(world: Mapping[str, Any]) -> str:
    """One line summing up a world snapshot payload."""
    agents = list(world.get("agents", {}).values())
    minute = int(world.get("minute_of_day", 0))
    head = f"[t={world.get('tick')} d{world.get('day', 0)} {minute // 60:02d}:{minute % 60:02d}]"
    utilities = world.get("utilities", {})
    util = ", ".join(f"{k} {'on' if v else 'OFF'}" for k, v in utilities.items())
    parts = [head + f" {len(agents)} agents", str(world.get("weather", "?"))]
    if util:
        parts.append(util)
    if agents:
        needs = " ".join(
            f"{need} {_num(_mean([a.get('needs', {}).get(need, 0.0) for a in agents]))}"
            for need in ("hunger", "hygiene", "energy")
        )
        parts.append(needs)
        parts.append(f"wallet {_mean([a.get('wallet', 0.0) for a in agents]):.2f}")
    queued = sum(len(o.get("queue", ())) for o in world.get("objects", {}).values())
    parts.append(f"queued {queued}")
    parts.append(f"events {len(world.get('events', ()))}")
    return " | ".join(parts)


def _world_narration(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """This tick's narration in a world snapshot or diff (a diff carries it when it changed)."""
    if payload.get("payload_type") == "world_diff":
        narration = payload.get("changes", {}).get("set", {}).get("narration", ())
    else:
        narration = payload.get("narration", ())
    return list(narration)


def _narration_line(tick: int, item: Mapping[str, Any]) -> str:
    return f"[t={tick}] ({item.get('category', '?')}) {item.get('text', '')}"


def _metric_line(tick: int, payload: Mapping[str, Any]) -> str:
    metrics = payload.get("metrics", {})
    body = " ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
    )
    return f"[t={tick}] metrics/{payload.get('scope', 'tick')} {body}"


def _stability_line(tick: int, payload: Mapping[str, Any]) -> str:
    fired = [c for c in payload.get("canaries", ()) if c.get("fired")]
    verdict = "; ".join(f"CANARY {c['name']}: {c['message']}" for c in fired) or "ok"
    return f"[t={tick}] stability window {payload.get('window')}: {verdict}"


_TRAINING_FIELDS = (
    ("loss_total", "loss"),
    ("loss_policy", "pi"),
    ("loss_value", "v"),
    ("loss_entropy", "ent"),
    ("approx_kl", "kl"),
    ("clip_fraction", "clip"),
    ("grad_norm", "grad"),
    ("steps_per_sec", "sps"),
)


def _training_line(record: Mapping[str, Any]) -> str:
    parts = [f"[epoch {record.get('epoch', '?')}]"]
    for key, short in _TRAINING_FIELDS:
        value = record.get(key)
        if isinstance(value, int | float):
            parts.append(f"{short} {value:.4g}")
    if record.get("anneal_ratio") is not None:
        parts.append(f"anneal {record['anneal_ratio']:.2f} ({record.get('anneal_stage')})")
    return " ".join(parts)


def _health_line(tick: int, payload: Mapping[str, Any]) -> str:
    sinks = [
        f"{s.get('name')} {s.get('state')} {s.get('delivered')}/{s.get('emitted')} "
        f"dropped {s.get('dropped_messages')}"
        + (f" error {s.get('last_error')}" if s.get("last_error") else "")
        for s in payload.get("sinks", ())
    ]
    return f"[t={tick}] health: " + "; ".join(sinks)
