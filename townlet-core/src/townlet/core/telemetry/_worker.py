"""One sink behind a bounded buffer, fed by the hub and drained by its own thread."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from townlet.core.ports import TelemetryEvent, TelemetrySink
from townlet.core.telemetry.health import SinkHealth, SinkState, TransportHealth
from townlet.core.telemetry.payloads import WORLD_TYPES

__all__ = ["SinkWorker"]

log = logging.getLogger("townlet.telemetry")

_Item = tuple[TelemetryEvent, int]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class SinkWorker:
    """A sink, its bounded buffer (messages and bytes, drop-oldest) and its thread.

    :meth:`offer` runs on the producer's thread and never blocks on the sink.
    The thread calls ``sink.emit`` for each queued event, ``sink.flush()`` (if
    the sink has one) when the buffer has been empty for ``flush_interval_s``,
    and ``sink.stop()`` once the buffer is closed and drained. An exception
    from the sink is counted and recorded; the next event is still offered.

    Losing a world message breaks the diff chain, so the queued diffs behind it
    are dropped too and :attr:`resync` asks the hub for a full snapshot next.
    """

    def __init__(
        self,
        name: str,
        sink: TelemetrySink,
        *,
        max_messages: int,
        max_bytes: int,
        flush_interval_s: float = 0.1,
    ) -> None:
        self.name = name
        self.sink = sink
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._flush_interval = flush_interval_s
        lock = threading.Lock()
        self._cond = threading.Condition(lock)
        """Wakes the thread when an event is queued or the buffer closes."""
        self._idle = threading.Condition(lock)
        """Wakes :meth:`wait_idle` when the buffer is empty and nothing is in flight."""
        self._queue: deque[_Item] = deque()
        self._queue_bytes = 0
        self._state: SinkState = "starting"
        self._closing = False
        self._emitted = 0
        self._delivered = 0
        self._dropped = 0
        self._errors = 0
        self._in_flight = 0
        self._last_success: int | None = None
        self._last_failure: int | None = None
        self._last_error: str | None = None
        self._thread: threading.Thread | None = None
        self._stop_lock = threading.Lock()
        self._sink_stopped = False
        self.resync = False
        """Set when the sink lost a world message: the next one must be a full snapshot."""

    # -- lifecycle (hub thread) ------------------------------------------------

    def start(self) -> None:
        """Start the sink and the thread; a sink whose ``start`` raises is marked failed."""
        try:
            self.sink.start()
        except Exception as exc:  # a broken sink must not stop the run
            self._record_error(None, exc, "start")
            self._state = "failed"
            return
        self._state = "running"
        self._thread = threading.Thread(
            target=self._run, name=f"townlet-telemetry-{self.name}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Accept no more events; the thread drains what is queued, then stops the sink."""
        with self._cond:
            self._closing = True
            self._cond.notify()

    def join(self, timeout: float | None) -> bool:
        """Wait for the thread; True when it has finished (or never ran)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def abort(self) -> None:
        """Drop whatever is still queued and stop the sink from this thread.

        Used when draining took too long; stopping the sink also wakes an
        ``emit`` blocked on its transport.
        """
        with self._cond:
            self._closing = True
            self._dropped += len(self._queue)
            self._queue.clear()
            self._queue_bytes = 0
            self._cond.notify()
            self._idle.notify_all()
        self._stop_sink()

    def wait_idle(self, deadline: float) -> bool:
        """Wait until nothing is queued or in flight, or until ``deadline`` (monotonic)."""
        with self._idle:
            while (self._queue or self._in_flight) and self._state == "running":
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return not self._queue and not self._in_flight

    # -- producer side -------------------------------------------------------

    def offer(self, event: TelemetryEvent, size: int) -> None:
        """Queue one event of ``size`` encoded bytes, dropping the oldest on overflow."""
        with self._cond:
            self._emitted += 1
            if self._state != "running" or self._closing:
                self._dropped += 1
                return
            self._queue.append((event, size))
            self._queue_bytes += size
            while len(self._queue) > self._max_messages or self._queue_bytes > self._max_bytes:
                old, old_size = self._queue.popleft()
                self._queue_bytes -= old_size
                self._dropped += 1
                if old.kind in WORLD_TYPES:
                    self._purge_orphan_diffs()
            self._cond.notify()

    def take_resync(self) -> bool:
        """Return and clear :attr:`resync`."""
        with self._cond:
            flag, self.resync = self.resync, False
            return flag

    def _purge_orphan_diffs(self) -> None:
        """Drop queued diffs up to the next queued snapshot (caller holds the lock)."""
        kept: deque[_Item] = deque()
        orphan = True
        for event, size in self._queue:
            if orphan and event.kind == "world_diff":
                self._dropped += 1
                self._queue_bytes -= size
                continue
            if event.kind == "world_snapshot":
                orphan = False
            kept.append((event, size))
        self._queue = kept
        if orphan:
            self.resync = True

    # -- the thread ------------------------------------------------------------

    def _run(self) -> None:
        dirty = False
        last_flush = time.monotonic()
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    if not dirty:
                        self._cond.wait()
                        continue
                    remaining = last_flush + self._flush_interval - time.monotonic()
                    if remaining <= 0 or not self._cond.wait(remaining):
                        break
                item = self._queue.popleft() if self._queue else None
                if item is not None:
                    self._queue_bytes -= item[1]
                    self._in_flight = 1
                elif self._closing:
                    break
            if item is None:
                self._call_flush()
                dirty = False
                last_flush = time.monotonic()
                continue
            self._deliver(item[0])
            dirty = True
        self._stop_sink()

    def _deliver(self, event: TelemetryEvent) -> None:
        try:
            self.sink.emit(event)
        except Exception as exc:  # isolate the sink; the run goes on
            with self._cond:
                self._in_flight = 0
                self._dropped += 1
                if event.kind in WORLD_TYPES:
                    self._purge_orphan_diffs()
                if not self._queue:
                    self._idle.notify_all()
            self._record_error(event.tick, exc, "emit")
            return
        with self._cond:
            self._in_flight = 0
            self._delivered += 1
            self._last_success = event.tick
            if not self._queue:
                self._idle.notify_all()

    def _call_flush(self) -> None:
        flush = getattr(self.sink, "flush", None)
        if flush is None:
            return
        try:
            flush()
        except Exception as exc:
            self._record_error(self._last_success, exc, "flush")

    def _stop_sink(self) -> None:
        with self._stop_lock:
            if self._sink_stopped or self._state in ("failed", "starting"):
                return
            self._sink_stopped = True
        try:
            self.sink.stop()
        except Exception as exc:
            self._record_error(None, exc, "stop")
        with self._cond:
            self._state = "stopped"
            self._idle.notify_all()

    def _record_error(self, tick: int | None, exc: Exception, where: str) -> None:
        with self._cond:
            first = self._errors == 0
            self._errors += 1
            self._last_error = f"{where}: {_describe(exc)}"
            if tick is not None:
                self._last_failure = tick
        level = logging.WARNING if first else logging.DEBUG
        log.log(level, "telemetry sink %r failed in %s: %s", self.name, where, _describe(exc))

    # -- health --------------------------------------------------------------

    def health(self) -> SinkHealth:
        """Counters and transport state right now."""
        transport = self._transport_health()
        with self._cond:
            running = self._state == "running"
            last_error = self._last_error
            if transport is not None and transport.last_error and last_error is None:
                last_error = transport.last_error
            return SinkHealth(
                name=self.name,
                state=self._state,
                connected=running and (transport.connected if transport is not None else True),
                emitted=self._emitted,
                delivered=self._delivered,
                dropped_messages=self._dropped,
                errors=self._errors,
                queue_depth=len(self._queue),
                queue_bytes=self._queue_bytes,
                in_flight=self._in_flight,
                last_success_tick=self._last_success,
                last_failure_tick=self._last_failure,
                last_error=last_error,
                detail=dict(transport.detail) if transport is not None else {},
            )

    def _transport_health(self) -> TransportHealth | None:
        probe: Any = getattr(self.sink, "health", None)
        if probe is None or self._state == "failed":
            return None
        try:
            result = probe()
            return TransportHealth(
                connected=bool(result.connected),
                last_error=getattr(result, "last_error", None),
                detail=dict(getattr(result, "detail", {}) or {}),
            )
        except Exception as exc:
            return TransportHealth(connected=False, last_error=f"health: {_describe(exc)}")
