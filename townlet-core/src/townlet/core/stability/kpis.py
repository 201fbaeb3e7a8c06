"""The stability KPIs of one window, their directions, and :func:`compare`.

Every KPI is a float named in :data:`KPI_NAMES`. Whether a rise is good or
bad is fixed per KPI (:data:`HIGHER_IS_BETTER`), so :func:`compare` can turn
a KPI set and a baseline into one signed number per KPI: the relative drop,
positive when the KPI moved the bad way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

__all__ = [
    "BEHAVIOUR_KPIS",
    "HIGHER_IS_BETTER",
    "KPI_FLOORS",
    "KPI_NAMES",
    "compare",
    "mean_kpis",
    "worst_drop",
]

KPI_NAMES: Final = (
    "self_sufficiency",
    "job_tenure",
    "relationship_formation",
    "conflict_escalation",
    "lateness",
    "starvation_incidents",
    "option_switch_rate",
    "throughput",
)
"""Every KPI of a window, in payload order."""

BEHAVIOUR_KPIS: Final = KPI_NAMES[:-1]
"""The KPIs that describe the citizens' behaviour: all but ``throughput``,
which is wall-clock speed and depends on the machine and the policy's cost."""

HIGHER_IS_BETTER: Final[Mapping[str, bool]] = {
    "self_sufficiency": True,
    "job_tenure": True,
    "relationship_formation": True,
    "conflict_escalation": False,
    "lateness": False,
    "starvation_incidents": False,
    "option_switch_rate": False,
    "throughput": True,
}
"""Direction of each KPI: True when a larger value is better."""

KPI_FLOORS: Final[Mapping[str, float]] = {
    "self_sufficiency": 0.01,
    "job_tenure": 0.1,
    "relationship_formation": 0.01,
    "conflict_escalation": 0.01,
    "lateness": 0.01,
    "starvation_incidents": 1.0,
    "option_switch_rate": 0.1,
    "throughput": 1.0,
}
"""Smallest baseline magnitude :func:`compare` divides by, per KPI, so that a
baseline of 0 (no lateness, no starvation) still gives a finite relative drop:
one starvation incident against a baseline of none counts as a drop of 1.0."""


def compare(
    kpis: Mapping[str, float],
    baseline: Mapping[str, float],
    names: Iterable[str] = BEHAVIOUR_KPIS,
) -> dict[str, float]:
    """Relative drop of each KPI in ``names`` versus ``baseline``; positive = worse.

    ``(baseline − value) / max(|baseline|, floor)`` for a KPI where higher is
    better, ``(value − baseline) / max(|baseline|, floor)`` otherwise (floors:
    :data:`KPI_FLOORS`). ``0.3`` means 30% worse than the baseline; ``-0.1``
    10% better. KPIs missing from either mapping are left out. The default
    ``names`` leave out ``throughput`` (see :data:`BEHAVIOUR_KPIS`).
    """
    out: dict[str, float] = {}
    for name in names:
        if name not in kpis or name not in baseline:
            continue
        if name not in HIGHER_IS_BETTER:
            raise KeyError(f"unknown stability KPI {name!r} (known: {', '.join(KPI_NAMES)})")
        base, value = float(baseline[name]), float(kpis[name])
        scale = max(abs(base), KPI_FLOORS[name])
        change = (value - base) / scale
        out[name] = -change if HIGHER_IS_BETTER[name] else change
    return out


def worst_drop(drops: Mapping[str, float]) -> tuple[str | None, float]:
    """The KPI that dropped most and its drop (``(None, 0.0)`` when empty)."""
    if not drops:
        return None, 0.0
    name = max(drops, key=lambda k: drops[k])
    return name, drops[name]


def mean_kpis(sets: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each KPI over ``sets`` (e.g. the windows of several towns); KPIs
    missing from some sets are averaged over the sets that have them."""
    out: dict[str, float] = {}
    for name in KPI_NAMES:
        values = [float(s[name]) for s in sets if name in s]
        if values:
            out[name] = sum(values) / len(values)
    return out
