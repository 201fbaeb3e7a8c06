"""One sink behind a bounded buffer, fed by the hub and drained by its own thread."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from townlet.core.ports import (
    BatchingSink,
    FlushingSink,
    HealthReportingSink,
    TelemetryEvent,
    TelemetrySink,
)
from townlet.core.telemetry.health import (
    PartialDelivery,
    SinkHealth,
    SinkState,
    TransportHealth,
)
from townlet.core.telemetry.payloads import WORLD_TYPES

__all__ = ["SinkWorker"]

log = logging.getLogger("townlet.telemetry")

_Item = tuple[TelemetryEvent, int]

MAX_BATCH_MESSAGES = 1024
"""Most events handed to a sink at once."""
MAX_BATCH_BYTES = 4 * 1024 * 1024
"""Most encoded bytes handed to a sink at once (a bigger single message still goes alone)."""
LINGER_S = 0.005
"""How long the thread lets a batch gather after the first message arrives."""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class SinkWorker:
    """A sink, its bounded buffer (messages and bytes, drop-oldest) and its thread.

    :meth:`offer` runs on the producer's thread and never blocks on the sink.
    The thread takes what is queued in batches and hands each to the sink:
    ``sink.emit_batch(events)`` when the sink has that optional method, else
    ``sink.emit`` per event. ``emit_batch`` returns None when it delivered
    every event, or how many it delivered (the rest, e.g. diffs it replaced
    by a snapshot, count as dropped); if it raises, all count as dropped,
    unless it raises :class:`PartialDelivery` naming how many it delivered. It
    calls ``sink.flush()`` (optional) when the buffer has been empty for
    ``flush_interval_s``, and ``sink.stop()`` once the buffer is closed and
    drained. An exception from the sink is counted and recorded; the next
    events are still offered.

    Batches matter under the GIL: a sink thread that makes one system call
    per message waits for the interpreter lock after each, so a busy tick
    loop would starve it. One call per batch keeps it up to speed.

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
        """Whether to send this sink a full snapshot now: :attr:`resync` is set and the
        buffer has room for it. Clears the flag when it answers True."""
        with self._cond:
            if not self.resync:
                return False
            if len(self._queue) >= self._max_messages or self._queue_bytes >= self._max_bytes:
                return False  # still backed up: a snapshot now would only be dropped
            self.resync = False
            return True

    def request_snapshot(self) -> None:
        """The sink asks for a full snapshot with the next published world."""
        with self._cond:
            self.resync = True

    def skip(self) -> None:
        """Count a message this sink will not be offered (it waits for a snapshot)."""
        with self._cond:
            self._emitted += 1
            self._dropped += 1

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
                linger = bool(self._queue) and not self._closing
                linger = linger and len(self._queue) < MAX_BATCH_MESSAGES // 2
            if linger:  # let a batch gather: one hand-over per batch, not per message
                time.sleep(LINGER_S)
            with self._cond:
                batch = self._take_batch()
                if not batch and self._closing:
                    break
            if not batch:
                self._call_flush()
                dirty = False
                last_flush = time.monotonic()
                continue
            self._deliver(batch)
            dirty = True
        self._stop_sink()

    def _take_batch(self) -> list[TelemetryEvent]:
        """Pop what is queued, up to one batch (caller holds the lock)."""
        batch: list[TelemetryEvent] = []
        size = 0
        queue = self._queue
        while queue and len(batch) < MAX_BATCH_MESSAGES and size < MAX_BATCH_BYTES:
            event, nbytes = queue.popleft()
            size += nbytes
            batch.append(event)
        self._queue_bytes -= size
        self._in_flight = len(batch)
        return batch

    def _deliver(self, batch: list[TelemetryEvent]) -> None:
        """Hand a batch to the sink: ``emit_batch`` if it has one, else ``emit`` each."""
        delivered = 0
        last_tick: int | None = None
        failures: list[tuple[int, Exception]] = []
        broken = False  # a world message was lost: later diffs have no base
        if isinstance(self.sink, BatchingSink):
            try:
                taken = self.sink.emit_batch(batch)
            except PartialDelivery as exc:  # the first events made it, then it failed
                delivered = max(0, min(len(batch), exc.delivered))
                cause = exc.__cause__
                failures.append((batch[-1].tick, cause if isinstance(cause, Exception) else exc))
                broken = any(e.kind in WORLD_TYPES for e in batch[delivered:])
                if delivered:
                    last_tick = batch[delivered - 1].tick
            except Exception as exc:  # isolate the sink; the run goes on
                failures.append((batch[-1].tick, exc))
                broken = any(e.kind in WORLD_TYPES for e in batch)
            else:
                delivered = len(batch) if taken is None else max(0, min(len(batch), int(taken)))
                last_tick = batch[-1].tick
        else:
            for event in batch:
                if broken and event.kind == "world_diff":
                    continue
                try:
                    self.sink.emit(event)
                except Exception as exc:
                    failures.append((event.tick, exc))
                    broken = broken or event.kind in WORLD_TYPES
                    continue
                delivered += 1
                last_tick = event.tick
                if event.kind == "world_snapshot":
                    broken = False
        with self._cond:
            self._in_flight = 0
            self._delivered += delivered
            self._dropped += len(batch) - delivered
            if last_tick is not None:
                self._last_success = last_tick
            if broken:
                self._purge_orphan_diffs()
            if not self._queue:
                self._idle.notify_all()
        for tick, error in failures:
            self._record_error(tick, error, "emit")

    def _call_flush(self) -> None:
        if not isinstance(self.sink, FlushingSink):
            return
        try:
            self.sink.flush()
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
        detail: dict[str, Any] = {}
        if transport is not None:
            detail.update(transport.detail)
            if transport.last_error:
                detail["transport_error"] = transport.last_error
        with self._cond:
            running = self._state == "running"
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
                last_error=self._last_error or detail.get("transport_error"),
                detail=detail,
            )

    def _transport_health(self) -> TransportHealth | None:
        if not isinstance(self.sink, HealthReportingSink) or self._state == "failed":
            return None
        try:
            result: Any = self.sink.health()  # a foreign sink's result: read defensively
            return TransportHealth(
                connected=bool(result.connected),
                last_error=getattr(result, "last_error", None),
                detail=dict(getattr(result, "detail", {}) or {}),
            )
        except Exception as exc:
            return TransportHealth(connected=False, last_error=f"health: {_describe(exc)}")
