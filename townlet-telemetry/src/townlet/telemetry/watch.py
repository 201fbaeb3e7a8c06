"""``townlet telemetry watch``: check each epoch (and health report) against thresholds.

A breach is a watched value beyond its threshold, or any watched value that
is NaN or infinite. Training records are checked for KL, losses, gradient
norm, entropy and queue conflicts; ``health`` payloads for dropped messages;
``stability`` payloads (one per KPI window) for canaries that fired: the
stability monitor has judged those already, so a fired canary is a breach.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from townlet.core.training.records import TRAINING_VERSIONS
from townlet.telemetry.logs import LogLine, training_record

__all__ = ["Breach", "Observation", "Threshold", "Thresholds", "watch_lines"]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A bound on one field: ``max`` (breach above) or ``min`` (breach below)."""

    field: str
    bound: Literal["max", "min"]
    limit: float

    def breached_by(self, value: float) -> bool:
        """Whether ``value`` is beyond this bound (NaN and infinities always are)."""
        if not math.isfinite(value):
            return True
        return value > self.limit if self.bound == "max" else value < self.limit


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every limit ``watch`` applies; None switches a check off."""

    kl_max: float | None = 0.2
    loss_max: float | None = None
    grad_norm_max: float | None = None
    entropy_min: float | None = None
    clip_fraction_max: float | None = None
    queue_events_max: float | None = None
    queue_intensity_max: float | None = None
    dropped_max: float | None = None
    canaries: bool = True
    """Whether a fired stability canary is a breach."""

    def training(self) -> list[Threshold]:
        """Bounds on training-record fields."""
        pairs: list[tuple[str, Literal["max", "min"], float | None]] = [
            ("approx_kl", "max", self.kl_max),
            ("loss_total", "max", self.loss_max),
            ("grad_norm", "max", self.grad_norm_max),
            ("loss_entropy", "min", self.entropy_min),
            ("clip_fraction", "max", self.clip_fraction_max),
            ("queue_conflict_events", "max", self.queue_events_max),
            ("queue_conflict_intensity_sum", "max", self.queue_intensity_max),
        ]
        return [Threshold(f, b, limit) for f, b, limit in pairs if limit is not None]

    def health(self) -> list[Threshold]:
        """Bounds on health-payload fields."""
        if self.dropped_max is None:
            return []
        return [Threshold("dropped_messages", "max", self.dropped_max)]


WATCHED_TRAINING = (
    "loss_total",
    "loss_policy",
    "loss_value",
    "loss_entropy",
    "approx_kl",
    "clip_fraction",
    "grad_norm",
    "queue_conflict_events",
    "queue_conflict_intensity_sum",
)
"""Fields shown for each epoch; any of them NaN or infinite is a breach."""


@dataclass(frozen=True, slots=True)
class Breach:
    """One value beyond its threshold."""

    field: str
    value: float
    bound: Literal["max", "min", "finite"]
    limit: float | None

    def __str__(self) -> str:
        if self.bound == "finite":
            return f"{self.field}={self.value} is not finite"
        op = ">" if self.bound == "max" else "<"
        return f"{self.field}={self.value:.6g} {op} {self.limit:g}"

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (NaN and infinities as strings)."""
        value: Any = self.value if math.isfinite(self.value) else str(self.value)
        return {"field": self.field, "value": value, "bound": self.bound, "limit": self.limit}


@dataclass(frozen=True, slots=True)
class Observation:
    """What ``watch`` saw on one line: an epoch, a health report or a malformed line."""

    lineno: int
    kind: Literal["training", "health", "stability", "error"]
    label: str
    values: Mapping[str, float] = field(default_factory=dict)
    breaches: tuple[Breach, ...] = ()
    error: str | None = None

    def text(self) -> str:
        """One human line."""
        if self.kind == "error":
            return f"line {self.lineno}: malformed: {self.error}"
        shown = " ".join(f"{k}={v:.4g}" for k, v in self.values.items())
        verdict = "OK" if not self.breaches else "BREACH " + ", ".join(map(str, self.breaches))
        return f"line {self.lineno} {self.label}: {shown}  {verdict}"

    def to_json(self) -> dict[str, Any]:
        """JSON-able form."""
        if self.kind == "error":
            return {"line": self.lineno, "kind": "error", "error": self.error}
        values = {k: (v if math.isfinite(v) else str(v)) for k, v in self.values.items()}
        return {
            "line": self.lineno,
            "kind": self.kind,
            "label": self.label,
            "values": values,
            "breaches": [b.to_json() for b in self.breaches],
        }


def _numbers(obj: Mapping[str, Any], names: Iterable[str]) -> dict[str, float]:
    return {
        n: obj[n]
        for n in names
        if isinstance(obj.get(n), int | float) and not isinstance(obj.get(n), bool)
    }


def _check(values: Mapping[str, float], bounds: list[Threshold]) -> tuple[Breach, ...]:
    breaches = [
        Breach(b.field, values[b.field], b.bound, b.limit)
        for b in bounds
        if b.field in values and b.breached_by(values[b.field])
    ]
    watched = {b.field for b in bounds}
    breaches += [
        Breach(k, v, "finite", None)
        for k, v in values.items()
        if k not in watched and not math.isfinite(v)
    ]
    return tuple(breaches)


def watch_lines(lines: Iterable[LogLine], thresholds: Thresholds) -> Iterator[Observation]:
    """One observation per epoch, health report or malformed line."""
    training_bounds, health_bounds = thresholds.training(), thresholds.health()
    for line in lines:
        if line.kind == "error" or line.obj is None:
            yield Observation(line.lineno, "error", "", error=line.error)
            continue
        record = training_record(line.obj)
        if record is not None and record.get("telemetry_version") not in TRAINING_VERSIONS:
            version = record.get("telemetry_version")
            yield Observation(
                line.lineno, "error", "", error=f"unknown telemetry_version {version!r}"
            )
        elif record is not None:
            values = _numbers(record, WATCHED_TRAINING)
            label = f"epoch {record.get('epoch', '?')}"
            yield Observation(
                line.lineno, "training", label, values, _check(values, training_bounds)
            )
        elif line.obj.get("payload_type") == "health":
            values = _numbers(line.obj, ("dropped_messages",))
            label = f"health at tick {line.obj.get('tick', '?')}"
            yield Observation(line.lineno, "health", label, values, _check(values, health_bounds))
        elif line.obj.get("payload_type") == "stability":
            yield _stability(line.lineno, line.obj, thresholds.canaries)


def _stability(lineno: int, obj: Mapping[str, Any], canaries: bool) -> Observation:
    """A stability window: each canary's value, a breach for each that fired."""
    label = f"stability window {obj.get('window', '?')} at tick {obj.get('tick', '?')}"
    items = [
        c
        for c in obj.get("canaries") or ()
        if isinstance(c, Mapping) and _number(c.get("value")) and _number(c.get("threshold"))
    ]
    values = {f"{c.get('name')}_canary": float(c["value"]) for c in items}
    fired = [
        Breach(f"{c.get('name')}_canary", float(c["value"]), "max", float(c["threshold"]))
        for c in items
        if canaries and c.get("fired") is True
    ]
    return Observation(lineno, "stability", label, values, (*fired, *_check(values, [])))


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
