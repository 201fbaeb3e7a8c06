"""Where a sink gets the whole world when a consumer has no base to apply diffs to.

A sink that hands the stream to consumers who may start mid-stream (a new
websocket client, a fresh TCP connection, a new log segment) needs a full
``world_snapshot`` at that point. It asks its :class:`WorldSource`:

- :meth:`~WorldSource.snapshot_now`: the world as of the last world message
  the sink handled, if it can be had at once;
- :meth:`~WorldSource.latest`: the freshest world there is (possibly ahead
  of the sink's own position in the stream);
- :meth:`~WorldSource.request_snapshot`: have the next world message arrive
  as a full snapshot, in stream order.

A sink calls :meth:`~WorldSource.observe` with every world message it
handles. Sinks that define the optional ``bind_world(source)`` are given the
hub's source before ``start()``: the hub already holds the current world, so
following the stream costs them nothing. Without a hub (a sink used on its
own) a sink keeps a :class:`TrackingWorldSource`, which applies every diff
itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from townlet.core.ports import TelemetryEvent, WorldSource
from townlet.core.telemetry.diff import SnapshotTracker
from townlet.core.telemetry.payloads import WORLD_TYPES

__all__ = ["HubWorldSource", "TrackingWorldSource", "WorldSource"]


class TrackingWorldSource:
    """A world source that follows the stream itself (for sinks used without a hub).

    Payloads it returns are its own live copy: encode them at once.
    """

    def __init__(self) -> None:
        self._tracker = SnapshotTracker()

    def observe(self, event: TelemetryEvent) -> None:
        """Apply a world message to the tracked world."""
        if event.kind in WORLD_TYPES:
            self._tracker.observe(event.payload)

    def snapshot_now(self) -> Mapping[str, Any] | None:
        """The tracked world (None before a snapshot or after a gap)."""
        return self._tracker.snapshot

    def latest(self) -> Mapping[str, Any] | None:
        """The tracked world."""
        return self._tracker.snapshot

    def request_snapshot(self) -> None:
        """Nothing to ask: after a gap the next snapshot in the stream restores the world."""


class HubWorldSource:
    """The hub's current world, shared with one sink at no cost per message.

    ``latest`` returns the hub's latest published ``world_snapshot`` payload
    (immutable); ``request`` asks the hub for a full snapshot for this sink.
    """

    def __init__(
        self, latest: Callable[[], Mapping[str, Any] | None], request: Callable[[], None]
    ) -> None:
        self._latest = latest
        self._request = request
        self._tick: int | None = None

    def observe(self, event: TelemetryEvent) -> None:
        """Remember the tick of the last world message the sink handled."""
        if event.kind in WORLD_TYPES:
            self._tick = event.tick

    def snapshot_now(self) -> Mapping[str, Any] | None:
        """The hub's world, when the sink has caught up with it."""
        world = self._latest()
        if world is None or self._tick is None or world.get("tick") != self._tick:
            return None
        return world

    def latest(self) -> Mapping[str, Any] | None:
        """The hub's latest published world."""
        return self._latest()

    def request_snapshot(self) -> None:
        """Have the hub send this sink a full snapshot with its next published world."""
        self._request()
