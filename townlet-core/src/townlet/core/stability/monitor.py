"""The stability monitor: per-window KPIs of one town, and its canaries."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from townlet.core.stability.canaries import (
    Canary,
    CanaryState,
    StabilityParams,
    evaluate_canaries,
)
from townlet.core.stability.kpis import KPI_NAMES, compare

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["StabilityMonitor", "WindowReport", "summary_line"]

_HUNGER = 0  # column of hunger in AgentArrays.needs

STATE_EVERY: Final = 100
"""Observed ticks between readings of the state KPIs (tenure, relationships)."""


@dataclass(frozen=True)
class WindowReport:
    """The KPIs and canaries of one closed window."""

    window: int
    """1-based index of the window in the monitor's run."""
    tick: int
    """The world tick the window closed at."""
    window_ticks: int
    """Ticks the window covered."""
    kpis: dict[str, float]
    """Every KPI of :data:`~townlet.core.stability.kpis.KPI_NAMES`."""
    baseline: dict[str, float] | None
    """The KPIs the canaries compared with; None when there was none yet."""
    canaries: tuple[Canary, ...]

    @property
    def fired(self) -> list[str]:
        """Names of the canaries that fired."""
        return [c.name for c in self.canaries if c.fired]

    def drops(self) -> dict[str, float]:
        """:func:`~townlet.core.stability.kpis.compare` of the KPIs with the baseline
        (empty without one)."""
        return compare(self.kpis, self.baseline) if self.baseline is not None else {}

    def payload(self) -> dict[str, Any]:
        """The ``stability`` telemetry payload body (the envelope adds the rest)."""
        return {
            "window": self.window,
            "window_ticks": self.window_ticks,
            "kpis": dict(self.kpis),
            "baseline": dict(self.baseline) if self.baseline is not None else None,
            "canaries": [c.as_dict() for c in self.canaries],
        }


@dataclass
class _Window:
    """Counters of the open window."""

    ticks: int = 0
    alive_ticks: int = 0
    agent_ticks: int = 0
    ok_agent_ticks: int = 0
    option_switches: int = 0
    shifts: int = 0
    late: int = 0
    conflicts: int = 0
    arguments: int = 0
    starvation: int = 0
    started: float = field(default_factory=time.perf_counter)


class StabilityMonitor:
    """Watches one town tick by tick and reports a :class:`WindowReport` per window.

    Call :meth:`observe` after every step; it returns the report when the
    world's tick ends a window (a multiple of ``window_ticks``, one sim day
    by default), else None. :meth:`close_window` ends the open window early
    (e.g. at the end of a training epoch, or when an env replaced the world).

    A new world object (an env reset) continues the open window from its
    second tick: its counts add to the window's. The two KPIs that describe
    the town's state rather than its flow (``job_tenure``,
    ``relationship_formation``) are read from the world when the window
    closes; when that world has stepped on unobserved (a vector env replaces
    a town's world in the step that ends its episode), their latest reading
    is used instead, taken every :data:`STATE_EVERY` observed ticks.

    ``baseline``: the KPIs canaries compare with (e.g. the scripted policy's).
    Without one, the first closed window becomes the baseline of the later
    ones (canaries that compare are left out of that first window).
    """

    def __init__(
        self,
        params: StabilityParams | None = None,
        baseline: Mapping[str, float] | None = None,
    ) -> None:
        self.params = params or StabilityParams()
        self.baseline: dict[str, float] | None = dict(baseline) if baseline is not None else None
        self.reports: list[WindowReport] = []
        """Every window closed so far, oldest first."""
        self._canary_state = CanaryState()
        self._window = _Window()
        self._world: World | None = None
        self._tick = -1
        self._counters = (0, 0, 0)
        self._shift_total = 0
        self._state: dict[str, float] = {}
        self._starving = np.zeros(0, dtype=bool)

    @property
    def fired(self) -> dict[str, int]:
        """How many windows each canary fired in, by canary name (only those that fired)."""
        out: dict[str, int] = {}
        for report in self.reports:
            for name in report.fired:
                out[name] = out.get(name, 0) + 1
        return out

    def summary(self) -> dict[str, Any]:
        """What a run summary shows: ``windows`` closed, ``fired`` (windows per
        canary that fired), ``last`` (the last window's KPIs, None before one)."""
        return {
            "windows": len(self.reports),
            "fired": self.fired,
            "last": dict(self.reports[-1].kpis) if self.reports else None,
        }

    def window_ticks(self, world: World) -> int:
        """Ticks per window for ``world``: the param, else one sim day."""
        return self.params.window_ticks or world.clock.ticks_per_day

    def start(self, world: World) -> None:
        """Take ``world``'s counters as the start of the window (optional: the
        first :meth:`observe` does it otherwise, and that tick is not counted)."""
        k = world.kpi
        self._world = world
        self._tick = world.tick
        self._counters = (k.agent_ticks, k.ok_agent_ticks, k.option_switches)
        self._shift_total = int(world.agents.shift_days.sum())
        self._state = _state_kpis(world)
        self._starving = _starving(world)

    def observe(
        self, world: World, events: Sequence[Mapping[str, Any]] | None = None
    ) -> WindowReport | None:
        """Count one tick of ``world``; ``events``: the tick's events (default
        ``world.events``). Returns the window's report when this tick ends it."""
        if world is not self._world or world.tick <= self._tick:  # first tick, or a reset
            self.start(world)
            return None
        w = self._window
        a = world.agents
        k = world.kpi
        tick = self._tick = world.tick
        counters = (k.agent_ticks, k.ok_agent_ticks, k.option_switches)
        w.agent_ticks += counters[0] - self._counters[0]
        w.ok_agent_ticks += counters[1] - self._counters[1]
        w.option_switches += counters[2] - self._counters[2]
        self._counters = counters
        w.ticks += 1
        w.alive_ticks += int(np.count_nonzero(a.alive))
        starving = _starving(world)
        w.starvation += int(np.count_nonzero(starving & ~self._starving))
        self._starving = starving
        day = world.clock.ticks_per_day
        edges = world.shift_edges
        if (tick - 1) % day in edges or tick % day in edges:  # shifts only start here
            total = int(a.shift_days.sum())
            w.shifts += total - self._shift_total
            self._shift_total = total
        for event in world.events if events is None else events:
            kind = event.get("kind")
            if kind == "late":
                w.late += 1
            elif kind == "conflict":
                w.conflicts += 1
            elif kind == "argument":
                w.arguments += 1
        if tick % STATE_EVERY == 0:
            self._state = _state_kpis(world)
        if tick % self.window_ticks(world) == 0:
            return self.close_window()
        return None

    def close_window(self) -> WindowReport:
        """End the open window now and report it; a new window opens.

        Raises ``RuntimeError`` when no tick was observed since the last window.
        """
        w, world = self._window, self._world
        if world is None or w.ticks == 0:
            raise RuntimeError("no tick observed in this window: call observe() after each step")
        if world.tick == self._tick:  # the world is as last observed: read its state now
            self._state = _state_kpis(world)
        kpis = self._kpis(world, w)
        baseline = self.baseline
        canaries = evaluate_canaries(kpis, baseline, self.params, self._canary_state)
        report = WindowReport(
            window=len(self.reports) + 1,
            tick=self._tick,
            window_ticks=w.ticks,
            kpis=kpis,
            baseline=dict(baseline) if baseline is not None else None,
            canaries=tuple(canaries),
        )
        self.reports.append(report)
        if self.baseline is None:
            self.baseline = dict(kpis)
        self._window = _Window()
        return report

    def _kpis(self, world: World, w: _Window) -> dict[str, float]:
        seconds = time.perf_counter() - w.started
        mean_alive = w.alive_ticks / w.ticks
        days = w.ticks / world.clock.ticks_per_day
        kpis = {
            "self_sufficiency": w.ok_agent_ticks / w.agent_ticks if w.agent_ticks else 1.0,
            "job_tenure": self._state["job_tenure"],
            "relationship_formation": self._state["relationship_formation"],
            "conflict_escalation": w.arguments / w.conflicts if w.conflicts else 0.0,
            "lateness": w.late / w.shifts if w.shifts else 0.0,
            "starvation_incidents": float(w.starvation),
            "option_switch_rate": w.option_switches / max(1.0, mean_alive) / days,
            "throughput": w.ticks / seconds if seconds > 0 else 0.0,
        }
        assert tuple(kpis) == KPI_NAMES
        return {name: round(float(v), 6) for name, v in kpis.items()}


def _state_kpis(world: World) -> dict[str, float]:
    """The state KPIs, as the run summary computes them."""
    totals = world.kpi_values()
    return {
        "job_tenure": totals["tenure_days"],
        "relationship_formation": totals["relationship_formation"],
    }


def _starving(world: World) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Agents whose hunger deficit is past the near-death line."""
    limit = 1.0 - world.settings.lifecycle.near_death_deficit
    a = world.agents
    starving: np.ndarray[Any, np.dtype[np.bool_]] = a.alive & (a.needs[:, _HUNGER] < limit)
    return starving


def summary_line(summary: Mapping[str, Any]) -> str:
    """One line for a run summary from :meth:`StabilityMonitor.summary`."""
    windows = int(summary.get("windows", 0))
    if not windows:
        return "no window closed yet"
    fired = summary.get("fired") or {}
    alarms = (
        "canaries fired: " + ", ".join(f"{name} in {n} window(s)" for name, n in fired.items())
        if fired
        else "no canary fired"
    )
    return f"{windows} window(s), {alarms}"
