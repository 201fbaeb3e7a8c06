"""A runnable town: world + policy + telemetry, as driven by ``townlet run``."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from townlet.core.config.models import TownletConfig
from townlet.core.console.bus import ConsoleBus
from townlet.core.hooks import HookLoadFailure
from townlet.core.ports import Policy
from townlet.core.registry import Registry
from townlet.core.runtime import Runtime, build_runtime
from townlet.core.snapshots import load_snapshot, save_snapshot
from townlet.core.stability import StabilityMonitor
from townlet.core.telemetry.health import HubHealth
from townlet.core.telemetry.hub import TelemetryHub
from townlet.core.world.state import MILLS
from townlet.core.world.world import World

__all__ = ["RunSummary", "Simulation"]


@dataclass
class RunSummary:
    """What a run did, for the CLI summary and tests."""

    ticks: int
    seconds: float
    interrupted: bool
    kpis: dict[str, float]
    money: dict[str, float]
    """Net money into wallets by cause (negative: spent)."""
    counts: dict[str, int]
    health: list[str] = field(default_factory=list)
    stability: dict[str, Any] = field(default_factory=dict)
    """Stability windows closed, canaries fired (windows per canary) and the last KPIs."""
    console: dict[str, int] = field(default_factory=dict)
    """Console counters (requests, refusals, failed audit writes); empty without one."""

    @property
    def ticks_per_second(self) -> float:
        """Simulation speed of this run (telemetry and policy included)."""
        return self.ticks / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "ticks": self.ticks,
            "seconds": round(self.seconds, 3),
            "ticks_per_second": round(self.ticks_per_second, 1),
            "interrupted": self.interrupted,
            "kpis": self.kpis,
            "money": self.money,
            "counts": self.counts,
            "health": self.health,
            "stability": self.stability,
            "console": self.console,
        }


class Simulation:
    """Builds the world, the policy and the telemetry hub a config names."""

    def __init__(
        self,
        config: TownletConfig,
        registry: Registry | None = None,
        console: ConsoleBus | None = None,
    ) -> None:
        self.config = config
        self.runtime: Runtime = build_runtime(config, registry, telemetry=True)
        """Hook plugins, world storage and telemetry hub, as every form of a town wires them."""
        self.world: World = self.runtime.world()
        self.policy: Policy = self.runtime.registry.build(
            "policies", config.policy.name, config.policy.params
        )
        self.policy.reset(self.world, self.world.rng.policy)
        assert self.runtime.hub is not None  # requested above
        self.hub: TelemetryHub = self.runtime.hub
        self._publish = bool(self.hub.sink_names)
        self.console = console
        """Commands queued on this bus apply at the start of each tick."""
        self.stability = StabilityMonitor(config.stability)
        """Per-sim-day KPIs and canaries; each window goes out as a ``stability`` payload."""

    @property
    def failures(self) -> list[HookLoadFailure]:
        """Hook plugins that failed to load (skipped)."""
        return list(self.runtime.hook_failures)

    def policy_hash(self) -> str:
        """Stable digest of the policy's name and params (recorded in snapshots)."""
        doc = json.dumps([self.config.policy.name, self.config.policy.params], sort_keys=True)
        return hashlib.sha256(doc.encode()).hexdigest()[:16]

    def save_snapshot(self, directory: Path) -> Path:
        """Write ``DIR/snapshot-<tick>.townlet`` for the current tick."""
        path = Path(directory) / f"snapshot-{self.world.tick:08d}.townlet"
        policy = {"name": self.config.policy.name, "hash": self.policy_hash()}
        return save_snapshot(self.world, path, policy=policy)

    def resume(self, path: Path, *, migrate: bool = False) -> int:
        """Continue from a snapshot; returns its tick. The world is unchanged on error."""
        snap = load_snapshot(self.world, path, migrate=migrate)
        self.hub.request_snapshot()
        return int(snap.header["tick"])

    def run(
        self,
        ticks: int,
        *,
        on_tick: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        snapshot_every: int = 0,
        snapshot_dir: Path | None = None,
        on_snapshot_error: Callable[[OSError], None] | None = None,
    ) -> RunSummary:
        """Run up to ``ticks`` ticks; ``should_stop`` is polled after every tick.

        With ``snapshot_every`` > 0 a snapshot is written to ``snapshot_dir``
        after every tick that is a multiple of it. A write that fails (a full
        disk) is handed to ``on_snapshot_error`` and the run goes on; without
        that callback it raises.
        """
        world = self.world
        day = world.clock.ticks_per_day
        interrupted = False
        done = 0
        self.hub.start()
        self.stability.start(world)
        started = time.perf_counter()
        try:
            for _ in range(ticks):
                if self.console is not None:
                    self.console.apply_pending(world)
                world.step(self.policy.act(world))
                done += 1
                window = self.stability.observe(world)
                if self._publish:
                    self.hub.publish_world(world.tick, world.observe())
                    if world.tick % day == 0:
                        self.hub.publish_metrics(world.tick, world.kpi_values(), scope="day")
                    if window is not None:
                        self.hub.publish_stability(world.tick, window.payload())
                if snapshot_every and snapshot_dir is not None and world.tick % snapshot_every == 0:
                    try:
                        self.save_snapshot(snapshot_dir)
                    except OSError as exc:
                        if on_snapshot_error is None:
                            raise
                        on_snapshot_error(exc)
                if on_tick is not None:
                    on_tick(world.tick)
                if should_stop is not None and should_stop():
                    interrupted = True
                    break
        finally:
            seconds = time.perf_counter() - started
            health: HubHealth = self.hub.stop()
            console = self._console_health()
        return RunSummary(
            ticks=done,
            seconds=seconds,
            interrupted=interrupted,
            kpis=world.kpi_values(),
            money={k: v / MILLS for k, v in sorted(world.economy.ledger.items())},
            counts={
                **{f"completed_{k}": v for k, v in sorted(world.kpi.completions.items())},
                **{f"failed_{k}": v for k, v in sorted(world.kpi.failures.items())},
                "blocked_moves": world.kpi.blocked_moves,
                "invalid_options": world.kpi.invalid_options,
            },
            health=health.summary_lines() if self.hub.sink_names else [],
            stability=self.stability.summary(),
            console=console,
        )

    def _console_health(self) -> dict[str, int]:
        """The console's counters after writing its pending audit tally; a timeline's
        failed audit writes count with the operator console's."""
        timeline = self.world.timeline
        failed = timeline.bus.audit_failures if timeline is not None else 0
        if self.console is None:
            return {"audit_failures": failed} if failed else {}
        self.console.flush_audit()
        health = self.console.health()
        health["audit_failures"] += failed
        return health
