"""Golden baselines: the figures a scenario is meant to show, with bands.

A baseline file (YAML, shipped with the scenario) fixes a seed and a number of
ticks and lists figures, each with the value measured when it was written and
a hand-written band that states the claim (``conflicts_at.shower: {value: 4,
min: 1}`` says: at least one conflict at the shower)::

    seed: 0
    ticks: 600
    figures:
      conflicts_at.shower: {value: 4.0, min: 1}
      lateness: {value: 0.5, min: 0.25, max: 0.75}

:func:`check_scenario` runs the scenario as ``townlet run`` does (no
telemetry) and reports each figure's measured value against its band;
:func:`update_baseline` rewrites the values (never the bands).

Figures (see :func:`measure`): every KPI of ``world.kpi_values()`` by name,
plus ``events.KIND`` (events recorded over the run), ``exits.REASON``,
``conflicts.TYPE``, ``conflicts_at.OBJECT_TYPE``, ``utility_off_ticks.power``
/ ``.water``, ``first_off_tick.power`` / ``.water`` (−1: never off),
``price_peak.ITEM`` (highest price factor), ``rivalry_peak``,
``rivalry_final`` and ``rivalry_decay_ticks`` (ticks from the peak until the
strongest rivalry is below half of it; −1: never).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from pydantic import Field, model_validator

from townlet.core._validation import read_yaml_model
from townlet.core.config.models import TownletConfig
from townlet.core.config_base import ConfigModel
from townlet.core.errors import ConfigError
from townlet.core.registry import Registry
from townlet.core.scenario.resolve import ResolvedScenario
from townlet.core.sim import Simulation
from townlet.core.world.affordances import ITEMS
from townlet.core.world.weather import UTILITIES
from townlet.core.world.world import World

__all__ = [
    "Band",
    "Baseline",
    "CheckReport",
    "CheckedFigure",
    "check_scenario",
    "load_baseline",
    "measure",
    "update_baseline",
]


class Band(ConfigModel):
    """A figure's recorded value and the band it must stay in."""

    value: float = Field(description="Value measured when the baseline was written.")
    min: float | None = Field(None, description="Lowest passing value (None: no bound).")
    max: float | None = Field(None, description="Highest passing value (None: no bound).")

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def holds(self, measured: float) -> bool:
        """Whether ``measured`` lies inside the band."""
        return (self.min is None or measured >= self.min) and (
            self.max is None or measured <= self.max
        )

    def describe(self) -> str:
        """The band as text, e.g. ``[1, ∞)``."""
        low = "-∞" if self.min is None else f"{self.min:g}"
        high = "∞" if self.max is None else f"{self.max:g}"
        return f"[{low}, {high}]"


class Baseline(ConfigModel):
    """A scenario's golden figures for one seed and horizon."""

    seed: int = Field(0, ge=0, description="World seed of the baseline run.")
    ticks: int = Field(ge=1, description="Ticks of the baseline run.")
    figures: dict[str, Band] = Field(min_length=1, description="Figure name -> value and band.")


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file."""
    return read_yaml_model(path, Baseline, "baseline", ConfigError)


# -- measuring -----------------------------------------------------------------


@dataclass
class _Tracker:
    """Figures that need a look at every tick."""

    counts: Counter[str] = field(default_factory=Counter)
    off_ticks: np.ndarray = field(default_factory=lambda: np.zeros(len(UTILITIES), np.int64))
    first_off: list[int] = field(default_factory=lambda: [-1] * len(UTILITIES))
    price_peak: np.ndarray = field(default_factory=lambda: np.ones(len(ITEMS)))
    rivalry: list[float] = field(default_factory=list)

    def observe(self, world: World) -> None:
        for event in world.events:
            kind = event["kind"]
            self.counts[f"events.{kind}"] += 1
            if kind == "exit":
                self.counts[f"exits.{event['reason']}"] += 1
            elif kind == "conflict":
                self.counts[f"conflicts.{event['type']}"] += 1
                obj = event.get("object")
                where = world.town.object_types[world.town.object_ids.index(obj)] if obj else None
                self.counts[f"conflicts_at.{where or 'street'}"] += 1
        off = ~world.utility_on
        self.off_ticks += off
        for u in np.flatnonzero(off):
            if self.first_off[u] < 0:
                self.first_off[u] = world.tick - 1  # the tick that just ran
        np.maximum(self.price_peak, world.economy.price_multiplier, out=self.price_peak)
        rel = world.relations
        known = rel.other >= 0
        self.rivalry.append(float(rel.rivalry[known].max()) if known.any() else 0.0)

    def figures(self) -> dict[str, float]:
        out = {name: float(n) for name, n in self.counts.items()}
        for u, utility in enumerate(UTILITIES):
            out[f"utility_off_ticks.{utility}"] = float(self.off_ticks[u])
            out[f"first_off_tick.{utility}"] = float(self.first_off[u])
        for i, item in enumerate(ITEMS):
            out[f"price_peak.{item}"] = round(float(self.price_peak[i]), 4)
        series = np.asarray(self.rivalry or [0.0])
        peak_at = int(np.argmax(series))
        peak = float(series[peak_at])
        below = np.flatnonzero(series[peak_at:] < peak / 2) if peak > 0 else np.array([])
        out["rivalry_peak"] = round(peak, 4)
        out["rivalry_final"] = round(float(series[-1]), 4)
        out["rivalry_decay_ticks"] = float(below[0]) if below.size else -1.0
        return out


def measure(
    config: TownletConfig, ticks: int, *, seed: int | None = None, registry: Registry | None = None
) -> dict[str, float]:
    """Run ``config`` (its policy and timeline, no telemetry) and return every figure."""
    update: dict[str, object] = {"telemetry": config.telemetry.model_copy(update={"sinks": []})}
    if seed is not None:
        update["seed"] = int(seed)
    sim = Simulation(config.model_copy(update=update), registry)
    tracker = _Tracker()
    summary = sim.run(ticks, on_tick=lambda _: tracker.observe(sim.world))
    return {**{k: float(v) for k, v in summary.kpis.items()}, **tracker.figures()}


# -- checking ------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedFigure:
    """One figure of a check: its band, the measured value and the verdict."""

    name: str
    band: Band
    measured: float | None
    """None: the run did not produce the figure (counts as 0 for event counts)."""

    @property
    def passed(self) -> bool:
        """Whether the measured value lies in the band."""
        return self.measured is not None and self.band.holds(self.measured)


@dataclass(frozen=True)
class CheckReport:
    """The outcome of checking one scenario against its baseline."""

    scenario: str
    baseline: Baseline
    figures: tuple[CheckedFigure, ...]
    measured: Mapping[str, float]

    @property
    def passed(self) -> bool:
        """Whether every figure holds."""
        return all(f.passed for f in self.figures)

    def lines(self) -> list[str]:
        """Human-readable report, one line per figure."""
        b = self.baseline
        head = f"{self.scenario}: {'pass' if self.passed else 'FAIL'}"
        out = [f"{head} (seed {b.seed}, {b.ticks} ticks)"]
        for f in self.figures:
            value = "missing" if f.measured is None else f"{f.measured:g}"
            verdict = "ok  " if f.passed else "FAIL"
            out.append(
                f"  {verdict} {f.name:<28} {value:>10}  band {f.band.describe()}"
                f"  (baseline {f.band.value:g})"
            )
        return out


def _lookup(measured: Mapping[str, float], name: str) -> float | None:
    if name in measured:
        return measured[name]
    # counted figures that never happened are zero, not missing
    prefixes = ("events.", "exits.", "conflicts.", "conflicts_at.")
    return 0.0 if name.startswith(prefixes) else None


def check_scenario(
    scenario: ResolvedScenario,
    *,
    baseline: Baseline | None = None,
    registry: Registry | None = None,
) -> CheckReport:
    """Run ``scenario`` for its baseline's seed and ticks and check every figure.

    ``baseline`` replaces the scenario's own file (tests pass edited ones).
    """
    if baseline is None:
        path = scenario.baseline_path
        if path is None:
            raise ConfigError(f"scenario {scenario.name!r} has no golden baseline")
        baseline = load_baseline(path)
    measured = measure(scenario.config, baseline.ticks, seed=baseline.seed, registry=registry)
    figures = tuple(
        CheckedFigure(name, band, _lookup(measured, name))
        for name, band in sorted(baseline.figures.items())
    )
    return CheckReport(scenario.name, baseline, figures, measured)


def update_baseline(report: CheckReport, path: Path) -> list[str]:
    """Write the measured values into the baseline file at ``path`` (bands kept).

    Returns the diff, one ``name: old -> new`` line per changed value; a value
    now outside its band is marked, since the band is the scenario's claim.
    """
    figures: dict[str, dict[str, float]] = {}
    diff = []
    for f in report.figures:
        new = f.measured if f.measured is not None else f.band.value
        entry = {"value": _tidy(new)}
        if f.band.min is not None:
            entry["min"] = _tidy(f.band.min)
        if f.band.max is not None:
            entry["max"] = _tidy(f.band.max)
        figures[f.name] = entry
        if not math.isclose(new, f.band.value, rel_tol=1e-9, abs_tol=1e-12):
            mark = "" if f.band.holds(new) else f"  (outside band {f.band.describe()})"
            diff.append(f"{f.name}: {f.band.value:g} -> {new:g}{mark}")
    doc = {"seed": report.baseline.seed, "ticks": report.baseline.ticks, "figures": figures}
    header = (
        f"# Golden baseline of scenario {report.scenario}: values are rewritten by\n"
        "# `townlet scenarios check --update`; the bands (min/max) are the claim.\n"
    )
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return diff


def _tidy(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 4)
