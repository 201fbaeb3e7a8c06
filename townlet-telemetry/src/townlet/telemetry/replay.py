"""``townlet telemetry replay``: re-stream a recorded log into any sink (for demos)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from townlet.core.config.models import TelemetryConfig
from townlet.core.registry import Registry
from townlet.core.telemetry import HubHealth, TelemetryHub
from townlet.telemetry.logs import LogLine

__all__ = ["ReplayResult", "replay_lines"]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay sent and how the sink took it."""

    sent: int
    skipped: list[tuple[int, str]]
    health: HubHealth


def replay_lines(
    lines: Iterable[LogLine],
    sink: str,
    params: Mapping[str, Any],
    *,
    ticks_per_second: float = 0.0,
    linger_s: float = 0.0,
    registry: Registry | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    """Publish every payload and training record of ``lines`` through a one-sink hub.

    ``ticks_per_second`` > 0 paces the stream by the payloads' ticks (0: as
    fast as the sink takes it). ``linger_s`` keeps the sink open after the
    last message (so observers can still connect). Malformed lines are
    skipped and listed.
    """
    built = (registry or Registry()).build("telemetry_sinks", sink, params)
    hub = TelemetryHub([(sink, built)], TelemetryConfig(health_every=0))
    sent = 0
    skipped: list[tuple[int, str]] = []
    first_tick: int | None = None
    started = time.monotonic()
    with hub:
        for line in lines:
            obj = line.obj
            if line.kind == "error" or obj is None:
                skipped.append((line.lineno, line.error or "unreadable"))
                continue
            if line.kind == "training":
                hub.publish_training_epoch(obj)
                sent += 1
                continue
            if obj.get("payload_type") == "health":
                continue  # the replaying hub reports its own health
            tick = obj.get("tick")
            if not isinstance(tick, int) or not isinstance(obj.get("payload_type"), str):
                skipped.append((line.lineno, "payload without an integer tick"))
                continue
            if ticks_per_second > 0:
                first_tick = tick if first_tick is None else first_tick
                due = started + (tick - first_tick) / ticks_per_second
                wait = due - time.monotonic()
                if wait > 0:
                    sleep(wait)
            hub.publish_payload(obj)
            sent += 1
        if linger_s > 0:
            hub.flush()
            sleep(linger_s)
    return ReplayResult(sent, skipped, hub.stop())
