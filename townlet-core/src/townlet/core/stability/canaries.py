"""Canaries: the alarms a stability window raises (SPEC §11).

- ``lateness``: the window's lateness above ``lateness_factor`` × the
  baseline's (and above ``lateness_floor``, so a near-zero baseline does
  not alarm on one late shift);
- ``starvation``: more starvation incidents in the window than
  ``starvation_max``;
- ``option_switch_rate``: the option-switch rate more than ``switch_rise``
  above the baseline's for ``switch_windows`` windows in a row.

Canaries that compare with a baseline are left out of a window that has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import Field

from townlet.core.config_base import ConfigModel

__all__ = ["Canary", "CanaryState", "StabilityParams", "evaluate_canaries"]


class StabilityParams(ConfigModel):
    """Window length and canary thresholds of a :class:`StabilityMonitor`."""

    window_ticks: int | None = Field(
        None, ge=1, description="Ticks per window (≥ 1); default: one sim day of the world."
    )
    lateness_factor: float = Field(
        2.0, gt=0, description="Lateness canary: fires above this multiple of the baseline (> 0)."
    )
    lateness_floor: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Lateness canary: never fires at or below this share of shifts (0..1).",
    )
    starvation_max: float = Field(
        0.0,
        ge=0,
        description="Starvation canary: fires when a window has more incidents than this (≥ 0).",
    )
    switch_rise: float = Field(
        0.25,
        gt=0,
        description="Option-switch canary: relative rise over the baseline that counts (> 0).",
    )
    switch_windows: int = Field(
        2, ge=1, description="Option-switch canary: windows in a row the rise must last (≥ 1)."
    )


@dataclass(frozen=True)
class Canary:
    """One canary's verdict on one window."""

    name: str
    fired: bool
    value: float
    """The measured value the canary looked at."""
    threshold: float
    """The value it fires above."""
    message: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (the payload's ``canaries`` items)."""
        return asdict(self)


@dataclass
class CanaryState:
    """What canaries remember between windows."""

    switch_streak: int = 0
    """Windows in a row with the option-switch rate above its threshold."""


def evaluate_canaries(
    kpis: Mapping[str, float],
    baseline: Mapping[str, float] | None,
    params: StabilityParams,
    state: CanaryState,
) -> list[Canary]:
    """Every canary's verdict on a window's ``kpis``; updates ``state``."""
    starving = kpis["starvation_incidents"]
    out = [
        Canary(
            "starvation",
            starving > params.starvation_max,
            starving,
            params.starvation_max,
            f"{starving:.0f} starvation incident(s) in the window (at most "
            f"{params.starvation_max:g} expected)",
        )
    ]
    if baseline is None:
        state.switch_streak = 0
        return out
    late, late_base = kpis["lateness"], baseline["lateness"]
    late_limit = max(params.lateness_factor * late_base, params.lateness_floor)
    out.append(
        Canary(
            "lateness",
            late > late_limit,
            late,
            late_limit,
            f"lateness {late:.1%} of shifts vs baseline {late_base:.1%} "
            f"(limit {params.lateness_factor:g}x, at least {params.lateness_floor:.0%})",
        )
    )
    rate, rate_base = kpis["option_switch_rate"], baseline["option_switch_rate"]
    rate_limit = rate_base * (1 + params.switch_rise)
    state.switch_streak = state.switch_streak + 1 if rate > rate_limit else 0
    out.append(
        Canary(
            "option_switch_rate",
            state.switch_streak >= params.switch_windows,
            rate,
            rate_limit,
            f"option switches {rate:.2f}/citizen/day vs baseline {rate_base:.2f}; above "
            f"+{params.switch_rise:.0%} for {state.switch_streak} window(s) in a row "
            f"(fires at {params.switch_windows})",
        )
    )
    return out
