"""The telemetry hub: one producer, many sinks, nothing blocks the tick loop.

Usage from a simulation loop (all ``publish_*`` calls from one thread)::

    hub = TelemetryHub.from_config(config.telemetry)   # builds sinks by name
    hub.start()
    for tick in ticks:
        world.step()
        hub.publish_world(tick, world.observe())   # a fresh JSON-able dict
        if tick % ticks_per_day == 0:
            hub.publish_metrics(tick, kpis, scope="day")
    health = hub.stop()          # drains, stops sinks, returns HubHealth
    for line in health.summary_lines(): print(line)

``publish_world(tick, snapshot)`` takes a plain JSON-able dict (the world
payload contract in ``docs/telemetry.md``) and **takes ownership of it**: the
caller must not mutate it, or anything inside it, afterwards (reusing an
unchanged sub-object from one tick to the next is fine and makes diffing
cheaper). The first published world goes out as a ``world_snapshot``; later
ones as ``world_diff`` payloads relative to the previously published world.
With ``world_every: N`` only every Nth tick is published and the ``events``
and ``narration`` of skipped ticks are carried into the next one. A full
snapshot goes out again after :meth:`request_snapshot`, when ticks go
backwards (a restored snapshot), and to any sink that lost a world message.

Other payloads: :meth:`publish_metrics` (``metric``), :meth:`publish_narration`
(``narration``), :meth:`publish_training_epoch` (``training_epoch``),
:meth:`publish_stability` (``stability``),
:meth:`publish_health` (``health``; also every ``health_every`` ticks and once
at stop) and :meth:`publish_payload` (a recorded payload, for replay).

A sink with the optional ``bind_world(source)`` method is handed a
:class:`~townlet.core.telemetry.world_source.HubWorldSource` before it
starts: the hub's current world, and a way to ask for a full snapshot (for a
new websocket client, a new TCP connection, a new log segment).

Each sink runs behind a :class:`~townlet.core.telemetry._worker.SinkWorker`:
a buffer bounded by ``buffer_messages`` and ``buffer_bytes`` (the memory its
messages hold, objects and JSON, estimated by
:class:`~townlet.core.telemetry._memory.HeldSize`) that drops the
oldest message on overflow (counted in ``dropped_messages``), drained by the
sink's own thread. A sink that raises is isolated: its error is counted and
reported in :meth:`health`, and the other sinks and the run carry on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from townlet.core.ports import TelemetryEvent, TelemetrySink, WorldBoundSink
from townlet.core.telemetry._memory import HeldSize
from townlet.core.telemetry._worker import SinkWorker
from townlet.core.telemetry.diff import DiffError, apply_diff, make_diff
from townlet.core.telemetry.health import HubHealth
from townlet.core.telemetry.payloads import WORLD_TYPES, Payload, make_payload
from townlet.core.telemetry.privacy import Anonymizer
from townlet.core.telemetry.world_source import HubWorldSource

if TYPE_CHECKING:
    from townlet.core.registry import Registry
    from townlet.core.telemetry.config import TelemetryConfig

__all__ = ["TelemetryHub"]


def _labels(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


class TelemetryHub:
    """Fans telemetry out to sinks, each behind its own bounded buffer and thread.

    ``sinks`` is a sequence of ``(label, sink)`` pairs or a mapping label →
    sink; ``config`` supplies buffering, cadence and privacy settings
    (defaults: :class:`~townlet.core.telemetry.config.TelemetryConfig`).
    """

    def __init__(
        self,
        sinks: Mapping[str, TelemetrySink] | Iterable[tuple[str, TelemetrySink]],
        config: TelemetryConfig | None = None,
    ) -> None:
        if config is None:
            # via the config package: importing telemetry.config first is a cycle
            from townlet.core.config.models import TelemetryConfig

            config = TelemetryConfig()
        self.config = config
        pairs = list(sinks.items() if isinstance(sinks, Mapping) else sinks)
        self._workers = [
            SinkWorker(
                label,
                sink,
                max_messages=config.buffer_messages,
                max_bytes=config.buffer_bytes,
            )
            for label, (_, sink) in zip(_labels([n for n, _ in pairs]), pairs, strict=True)
        ]
        self._anonymizer = Anonymizer(config.privacy_salt) if config.privacy else None
        self._held = HeldSize()
        self._world: Payload | None = None
        self._world_tick: int | None = None
        self._world_seq = 0
        self._force_snapshot = False
        self._pending_events: list[Any] = []
        self._pending_narration: list[Any] = []
        self._last_tick: int | None = None
        self._last_health_tick: int | None = None
        self._started = False
        self._stopped: HubHealth | None = None

    @classmethod
    def from_config(cls, config: TelemetryConfig, registry: Registry | None = None) -> TelemetryHub:
        """Build every sink ``config.sinks`` names (through the registry) into a hub.

        Unknown names and bad params raise the registry's user errors.
        """
        from townlet.core.registry import Registry

        registry = registry or Registry()
        sinks = [
            (choice.name, registry.build("telemetry_sinks", choice.name, choice.params))
            for choice in config.sinks
        ]
        return cls(sinks, config)

    # -- lifecycle -------------------------------------------------------------

    @property
    def sink_names(self) -> list[str]:
        """Labels of the sinks, in config order."""
        return [w.name for w in self._workers]

    @property
    def sinks(self) -> list[TelemetrySink]:
        """The sinks, in config order (for wiring a sink to its run, e.g. the observer)."""
        return [w.sink for w in self._workers]

    @property
    def anonymizer(self) -> Anonymizer | None:
        """The privacy-mode hashing of ids and names (None without ``telemetry.privacy``).

        Use it from the thread that publishes (the tick loop): it learns new ids there.
        """
        return self._anonymizer

    def start(self) -> None:
        """Start every sink and its thread. A sink whose ``start`` raises is marked failed."""
        if self._started:
            raise RuntimeError("the telemetry hub is already started")
        self._started = True
        for worker in self._workers:
            if isinstance(worker.sink, WorldBoundSink):
                worker.sink.bind_world(HubWorldSource(lambda: self._world, worker.request_snapshot))
            worker.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every sink has handled everything queued; False on timeout."""
        limit = self.config.flush_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + limit
        idle = [w.wait_idle(deadline) for w in self._workers]  # wait for each, no short cut
        return all(idle)

    def stop(self, timeout: float | None = None) -> HubHealth:
        """Drain (up to ``timeout``, default ``flush_timeout_s``), stop every sink, report.

        Emits a last ``health`` payload first. Messages still queued when the
        time is up are dropped and counted. Idempotent.
        """
        if self._stopped is not None:
            return self._stopped
        if not self._started:
            self._stopped = self.health()
            return self._stopped
        limit = self.config.flush_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + limit
        for worker in self._workers:
            worker.wait_idle(deadline)
        self.publish_health()
        for worker in self._workers:
            worker.close()
        late = [w for w in self._workers if not w.join(max(0.0, deadline - time.monotonic()))]
        for worker in late:
            worker.abort()
        for worker in late:
            worker.join(1.0)
        self._stopped = self.health()
        return self._stopped

    def __enter__(self) -> TelemetryHub:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- publishing ------------------------------------------------------------

    @property
    def snapshot(self) -> dict[str, Any] | None:
        """The latest published ``world_snapshot`` payload (full, even if a diff went out)."""
        return self._world

    def request_snapshot(self) -> None:
        """Send the next published world as a full snapshot to every sink."""
        self._force_snapshot = True

    def publish_world(self, tick: int, snapshot: Mapping[str, Any]) -> None:
        """Publish the world at ``tick`` as a snapshot or a diff (see the module docstring)."""
        if not self._accepting():
            return
        self._last_tick = tick
        last = self._world_tick
        backwards = last is not None and tick <= last
        due = last is None or backwards or tick - last >= self.config.world_every
        if not (due or self._force_snapshot):
            self._pending_events.extend(snapshot.get("events", ()))
            self._pending_narration.extend(snapshot.get("narration", ()))
            self._maybe_health(tick)
            return
        if self._pending_events or self._pending_narration:
            snapshot = {
                **snapshot,
                "events": [*self._pending_events, *snapshot.get("events", ())],
                "narration": [*self._pending_narration, *snapshot.get("narration", ())],
            }
            self._pending_events, self._pending_narration = [], []
        if self._anonymizer is not None:
            snapshot = self._anonymizer.world(snapshot)
        current = make_payload("world_snapshot", tick, snapshot)
        current["tick"] = tick
        previous = self._world
        if previous is None or backwards or self._force_snapshot:
            self._fan_out_world(current, None)
        else:
            self._fan_out_world(current, make_diff(previous, current))
        self._force_snapshot = False
        self._world, self._world_tick = current, tick
        self._maybe_health(tick)

    def publish_metrics(
        self, tick: int, metrics: Mapping[str, float], *, scope: str = "tick"
    ) -> None:
        """Publish a flat ``name → number`` mapping (``scope``: ``tick``, ``day``, ...)."""
        if not self._accepting():
            return
        self._last_tick = tick
        body = dict(metrics) if self._anonymizer is None else self._anonymizer.metrics(metrics)
        self._fan_out(make_payload("metric", tick, {"scope": scope, "metrics": body}))

    def publish_narration(self, tick: int, items: Sequence[Mapping[str, Any]]) -> None:
        """Publish narration items (``category``, ``text``, ``agents``) outside a world payload."""
        if not self._accepting():
            return
        self._last_tick = tick
        body = (
            [dict(i) for i in items]
            if self._anonymizer is None
            else self._anonymizer.narration(items)
        )
        self._fan_out(make_payload("narration", tick, {"items": body}))

    def publish_training_epoch(self, record: Mapping[str, Any], *, tick: int | None = None) -> None:
        """Publish one training-log record; ``tick`` defaults to its ``epoch``."""
        if not self._accepting():
            return
        at = int(record.get("epoch", 0)) if tick is None else tick
        self._fan_out(make_payload("training_epoch", at, {"record": dict(record)}))

    def publish_stability(self, tick: int, window: Mapping[str, Any]) -> None:
        """Publish a stability window (``StabilityMonitor`` report's ``payload()``)."""
        if not self._accepting():
            return
        self._last_tick = tick
        self._fan_out(make_payload("stability", tick, window))

    def publish_health(self, tick: int | None = None) -> None:
        """Publish a ``health`` payload describing every sink now."""
        if not self._started or self._stopped is not None or not self._workers:
            return
        at = self._last_tick if tick is None else tick
        self._last_health_tick = at
        self._fan_out(make_payload("health", at or 0, self.health().to_json()))

    def publish_payload(self, payload: Mapping[str, Any]) -> None:
        """Publish an already built payload as is (``replay`` of a recorded stream).

        World payloads keep their form (a recorded diff stays a diff); the hub
        follows them so that a sink that lost one still gets a full snapshot.
        Privacy mode does not apply to recorded payloads.
        """
        if not self._accepting():
            return
        kind = str(payload["payload_type"])
        tick = int(payload["tick"])
        self._last_tick = tick
        wrapped = Payload(payload)
        if kind == "world_snapshot":
            self._world = wrapped
            self._fan_out_world(wrapped, None)
        elif kind == "world_diff":
            try:
                self._world = Payload(apply_diff(self._world, wrapped)) if self._world else None
            except DiffError:  # a gap in the recording: no whole world until the next snapshot
                self._world = None
            self._fan_out_world(self._world, wrapped)
        else:
            self._fan_out(wrapped)

    # -- health ----------------------------------------------------------------

    def health(self) -> HubHealth:
        """Health of every sink right now."""
        return HubHealth(self._last_tick, tuple(w.health() for w in self._workers))

    # -- internals -------------------------------------------------------------

    def _accepting(self) -> bool:
        if not self._workers or self._stopped is not None:
            return False
        if not self._started:
            raise RuntimeError("start() the telemetry hub before publishing")
        return True

    def _maybe_health(self, tick: int) -> None:
        every = self.config.health_every
        if not every:
            return
        if self._last_health_tick is None:  # the first report comes one period in
            self._last_health_tick = tick
        elif tick - self._last_health_tick >= every:
            self.publish_health(tick)

    def _fan_out(self, payload: Payload) -> None:
        event = TelemetryEvent(str(payload["payload_type"]), int(payload["tick"]), payload)
        size = self._held.of(payload)
        for worker in self._workers:
            worker.offer(event, size)

    def _fan_out_world(self, snapshot: Payload | None, diff: Payload | None) -> None:
        """Send ``diff`` (``snapshot`` if None) to each sink; resyncing sinks get ``snapshot``.

        A sink that lost a world message gets nothing but a full snapshot, as soon
        as its buffer has room; until then its world updates are counted as dropped.
        Both forms of this world get the next ``seq``.
        """
        self._world_seq += 1
        for payload in (snapshot, diff):
            if payload is not None:
                payload.seq = self._world_seq
        full: tuple[TelemetryEvent, int] | None = None
        part: tuple[TelemetryEvent, int] | None = None
        for worker in self._workers:
            if diff is not None and not worker.resync:
                if part is None:
                    part = (_event(diff), self._held.of(diff))
                worker.offer(*part)
                continue
            if snapshot is None or (diff is not None and not worker.take_resync()):
                worker.skip()
                continue
            if full is None:
                full = (_event(snapshot), self._held.of(snapshot))
            worker.offer(*full)


def _event(payload: Payload) -> TelemetryEvent:
    kind = str(payload["payload_type"])
    assert kind in WORLD_TYPES
    return TelemetryEvent(kind, int(payload["tick"]), payload)
