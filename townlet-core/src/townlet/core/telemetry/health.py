"""Health records: what a sink reports about its transport, and what the hub reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from townlet.core.ports import TransportHealth

__all__ = ["HubHealth", "PartialDelivery", "SinkHealth", "SinkState", "TransportHealth"]

SinkState = Literal["starting", "running", "failed", "stopped"]


class PartialDelivery(Exception):
    """Raised by a sink's ``emit_batch`` that delivered the first ``delivered``
    events of the batch and then failed: those count as delivered, the rest as
    dropped, and the failure (chained as ``__cause__``) as an error."""

    def __init__(self, delivered: int, message: str) -> None:
        super().__init__(message)
        self.delivered = delivered


@dataclass(frozen=True, slots=True)
class SinkHealth:
    """Delivery counters and transport state of one sink, as seen by the hub.

    For every sink ``emitted == delivered + dropped_messages + queue_depth +
    in_flight`` at any moment; after the hub stops, ``queue_depth`` and
    ``in_flight`` are 0.
    """

    name: str
    """The sink's label: its entry-point name, ``name#2`` for a second one."""
    state: SinkState
    connected: bool
    emitted: int
    """Messages the hub offered this sink."""
    delivered: int
    """Messages the sink's ``emit`` accepted without raising (for a file sink:
    written to the operating system)."""
    dropped_messages: int
    """Messages lost: buffer overflow, a failed ``emit``, a failed sink, left at stop."""
    errors: int
    """Exceptions raised by the sink (``start``, ``emit``, ``flush``, ``stop``)."""
    queue_depth: int
    queue_bytes: int
    """Memory the queued messages hold (objects and JSON, estimated; what
    ``buffer_bytes`` bounds)."""
    in_flight: int
    last_success_tick: int | None
    last_failure_tick: int | None
    last_error: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (the form used in ``health`` payloads)."""
        out = asdict(self)
        out["detail"] = dict(self.detail)
        return out


@dataclass(frozen=True, slots=True)
class HubHealth:
    """Health of every sink of a hub."""

    tick: int | None
    """The latest tick published, if any."""
    sinks: tuple[SinkHealth, ...]

    @property
    def dropped_messages(self) -> int:
        """Messages dropped over all sinks."""
        return sum(s.dropped_messages for s in self.sinks)

    @property
    def ok(self) -> bool:
        """No sink failed, dropped a message or raised."""
        return all(
            s.state != "failed" and not s.dropped_messages and not s.errors for s in self.sinks
        )

    def to_json(self) -> dict[str, Any]:
        """The body of a ``health`` payload."""
        return {
            "dropped_messages": self.dropped_messages,
            "sinks": [s.to_json() for s in self.sinks],
        }

    def summary_lines(self) -> list[str]:
        """One human line per sink, for run summaries."""
        lines = []
        for s in self.sinks:
            line = (
                f"{s.name}: {s.state}, {'connected' if s.connected else 'disconnected'}, "
                f"{s.delivered}/{s.emitted} delivered, {s.dropped_messages} dropped"
            )
            if s.errors:
                line += f", {s.errors} errors (last: {s.last_error})"
            lines.append(line)
        return lines
