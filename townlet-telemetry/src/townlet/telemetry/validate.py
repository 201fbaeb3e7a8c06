"""``townlet telemetry validate``: schema, version and stream checks of a log.

For observer streams: every payload against its JSON Schema and supported
``schema_version``; the world stream must start with a snapshot, every diff
must apply to the world before it (``base_tick``), and the world each diff
rebuilds must itself be a valid ``world_snapshot``. For training logs (bare
records or ``training_epoch`` payloads): a known ``telemetry_version``
(1.0, 1.1, 1.2), that version's schema, and increasing epochs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from townlet.core.telemetry.diff import DiffError, apply_diff
from townlet.core.training.records import TRAINING_VERSIONS
from townlet.telemetry.logs import LogLine, training_record
from townlet.telemetry.schema import payload_problems, training_problems

__all__ = ["Problem", "ValidationReport", "validate_lines"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one line."""

    lineno: int
    message: str

    def __str__(self) -> str:
        return f"line {self.lineno}: {self.message}"


@dataclass
class ValidationReport:
    """What ``validate`` found."""

    lines: int = 0
    payloads: Counter[str] = field(default_factory=Counter)
    training_versions: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problems."""
        return not self.problems

    def summary(self) -> str:
        """One line: counts of what was checked and of problems."""
        parts = [f"{self.lines} lines"]
        if self.payloads:
            parts.append(", ".join(f"{n} {k}" for k, n in sorted(self.payloads.items())))
        if self.training_versions:
            versions = ", ".join(f"{n}×{v}" for v, n in sorted(self.training_versions.items()))
            parts.append(f"training records {versions}")
        verdict = "valid" if self.ok else f"{len(self.problems)} problem(s)"
        return "; ".join(parts) + f": {verdict}"


class _Checker:
    def __init__(self, deep: bool) -> None:
        self.deep = deep
        self.report = ValidationReport()
        self.world: dict[str, Any] | None = None
        self.world_seen = False
        self.last_epoch: int | None = None

    def problem(self, line: LogLine, message: str) -> None:
        self.report.problems.append(Problem(line.lineno, message))

    def line(self, line: LogLine) -> None:
        self.report.lines += 1
        if line.kind == "error" or line.obj is None:
            self.problem(line, line.error or "unreadable line")
            return
        if line.kind == "payload":
            self.payload(line, line.obj)
        record = training_record(line.obj)
        if record is not None:  # a payload's record was checked with its payload
            self.training(line, record, check=line.kind == "training")

    def payload(self, line: LogLine, obj: dict[str, Any]) -> None:
        kind = str(obj.get("payload_type"))
        self.report.payloads[kind] += 1
        for message in payload_problems(obj, finite=line.non_finite):
            self.problem(line, message)
        if kind == "world_snapshot":
            self.world, self.world_seen = obj, True
        elif kind == "world_diff":
            self.diff(line, obj)

    def diff(self, line: LogLine, obj: dict[str, Any]) -> None:
        if self.world is None:
            why = "follows a gap" if self.world_seen else "comes before any world_snapshot"
            self.problem(line, f"world_diff {why}; it cannot be applied")
            return
        try:
            self.world = apply_diff(self.world, obj)
        except (DiffError, TypeError, AttributeError) as exc:
            self.problem(line, f"world_diff does not apply: {exc}")
            self.world = None
            return
        if self.deep:
            for message in payload_problems(self.world, finite=False):
                self.problem(line, f"rebuilt world is invalid: {message}")

    def training(self, line: LogLine, record: Any, *, check: bool) -> None:
        version = record.get("telemetry_version")
        self.report.training_versions[str(version)] += 1
        if check:
            for message in training_problems(record, finite=line.non_finite):
                self.problem(line, message)
        epoch = record.get("epoch")
        if isinstance(epoch, int) and version in TRAINING_VERSIONS:
            if self.last_epoch is not None and epoch <= self.last_epoch:
                self.problem(line, f"epoch {epoch} does not follow epoch {self.last_epoch}")
            self.last_epoch = epoch


def validate_lines(lines: Iterable[LogLine], *, deep: bool = True) -> ValidationReport:
    """Check every line; ``deep`` also validates the world each diff rebuilds."""
    checker = _Checker(deep)
    for line in lines:
        checker.line(line)
    return checker.report
