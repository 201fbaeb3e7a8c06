"""The scripted baseline policy: options from need thresholds, schedule and money.

Decisions are vectorised over agents. In priority order each tick:

0. a need below ``critical`` (hunger, hygiene, energy);
1. work, from travel time + ``work_buffer`` ticks before the shift to its end;
2. before a shift (within ``prep_minutes``), hunger or hygiene below
   ``prep_level``; tiredness, or sleepiness at night;
3. hunger or hygiene below ``threshold``;
4. no food at home and money to spare: shop for groceries;
5. in the daytime with every need comfortable, now and then (more often for
   extroverts), go and chat — relationship stage C only (masked before);
6. otherwise wait.

An option in progress runs to its end unless a critical need or work (levels
0 and 1) wants something else; otherwise the first wanted option of the most
urgent level is chosen. Citizens therefore finish a meal they started and do
not dither between two equally urgent needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from townlet.core.world.clock import MINUTES_PER_DAY
from townlet.core.world.options import Option, OptionStatus
from townlet.core.world.rows import TownRows
from townlet.core.world.state import MILLS, ShiftState

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["ScriptedPolicy", "ScriptedPolicyParams"]


class ScriptedPolicyParams(BaseModel):
    """Thresholds of the scripted policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(0.4, gt=0, lt=1, description="Need level that triggers care (0..1).")
    critical: float = Field(
        0.2, gt=0, lt=1, description="Need level that overrides everything, even work (0..1)."
    )
    prep_level: float = Field(
        0.85, gt=0, le=1, description="Before a shift, needs below this are topped up (0..1]."
    )
    prep_minutes: int = Field(
        360, ge=0, le=720, description="How long before a shift needs are topped up (sim minutes)."
    )
    work_buffer: int = Field(
        25, ge=0, le=500, description="Ticks of margin on top of travel time to arrive early."
    )
    night_start: int = Field(22, ge=0, le=23, description="Hour night starts (sleep if tired).")
    night_end: int = Field(6, ge=0, le=23, description="Hour night ends.")
    night_energy: float = Field(
        0.8, gt=0, le=1, description="At night, sleep when energy is below this (0..1]."
    )
    grocery_money: float = Field(
        3.0, ge=0, description="Shop for groceries only with at least this much money."
    )
    socialise_chance: float = Field(
        0.05, ge=0, le=1, description="Chance per idle tick to go and chat, scaled by extroversion."
    )
    socialise_level: float = Field(
        0.45, gt=0, le=1, description="Only socialise with every need above this (0..1]."
    )


class ScriptedPolicy:
    """Rule-based citizens: eat when hungry, work on time, sleep at night."""

    Params: ClassVar[type[BaseModel]] = ScriptedPolicyParams
    plugin_api_version: ClassVar[str] = "1.0"

    def __init__(self, params: ScriptedPolicyParams) -> None:
        self.params = params
        self.rng = np.random.default_rng(0)

    def reset(self, world: World, rng: np.random.Generator) -> None:
        """Keep the policy RNG stream (used only for the decision to socialise)."""
        self.rng = rng

    def act(self, world: World) -> npt.NDArray[np.int64]:
        """One option per agent slot."""
        return self.act_many((world,))

    def act_many(self, worlds: Sequence[World]) -> npt.NDArray[np.int64]:
        """One option per row of several towns of one config (their slots end to end),
        decided in one pass: equal to concatenating :meth:`act` of each town in order."""
        p = self.params
        rows = TownRows(worlds)
        first = rows.worlds[0]
        a = rows.agents
        n = rows.n_agents
        needs = a.needs
        clock = first.clock
        tod = rows.tod
        hour = tod * MINUTES_PER_DAY // clock.ticks_per_day // 60
        hunger, hygiene, energy = needs[:, 0], needs[:, 1], needs[:, 2]

        employed = a.job >= 0
        job = np.maximum(a.job, 0)
        start, end = first.job_start[job], first.job_end[job]
        travel = rows.along_paths("dist", np.arange(n), np.maximum(a.desk, 0))
        travel[np.isinf(travel)] = 0.0  # no path to the desk: leave at the start
        leave_at = start - travel - p.work_buffer
        work_time = (
            employed & (tod >= leave_at) & (tod < end - 1) & (a.shift_state != ShiftState.ABSENT)
        )
        prep = (
            employed
            & ~work_time
            & (tod < start)
            & (tod >= start - clock.ticks_from_minutes(p.prep_minutes))
        )
        night = (hour >= p.night_start) | (hour < p.night_end)
        larder = a.inventory[:, 0] + a.inventory[:, 1]

        # wanted[level, agent, option]: level 0 is the most urgent.
        wanted = np.zeros((6, n, len(Option)), dtype=bool)
        wanted[0, :, _FED] = hunger < p.critical
        wanted[0, :, _CLEAN] = hygiene < p.critical
        wanted[0, :, _SLEEP] = energy < p.critical
        wanted[1, :, _WORK] = work_time
        wanted[2, :, _FED] = prep & (hunger < p.prep_level)
        wanted[2, :, _CLEAN] = prep & (hygiene < p.prep_level)
        wanted[2, :, _SLEEP] = (energy < p.threshold) | (night & (energy < p.night_energy))
        wanted[3, :, _FED] = hunger < p.threshold
        wanted[3, :, _CLEAN] = hygiene < p.threshold
        wanted[4, :, _SHOP] = (larder < 2) & (a.wallet >= p.grocery_money * MILLS)
        chance = p.socialise_chance * (1.0 + a.personality[:, 0])
        wanted[5, :, _CHAT] = (
            ~night & (needs.min(axis=1) > p.socialise_level) & (self.rng.random(n) < chance)
        )
        wanted &= rows.cat([w.action_masks() for w in rows.worlds])[None]

        any_level = wanted.any(axis=2)  # [levels, n]
        has_any = any_level.any(axis=0)
        best = np.argmax(any_level, axis=0)  # first level with a wanted option
        at_best = wanted[best, np.arange(n)]  # [n, options]
        current = a.option.astype(np.int64)
        status = rows.cat([w.option_status for w in rows.worlds])
        active = (status == OptionStatus.ACTIVE) & (current != _WAIT)
        pressing = has_any & (best <= 1) & ~at_best[np.arange(n), current]
        keep = active & ~pressing
        first_wanted = np.argmax(at_best, axis=1)
        return np.where(keep, current, np.where(has_any, first_wanted, _WAIT)).astype(np.int64)


_WAIT, _FED, _CLEAN, _WORK, _SHOP, _SLEEP, _CHAT = (
    int(o)
    for o in (
        Option.WAIT,
        Option.GET_FED,
        Option.GET_CLEAN,
        Option.GO_TO_WORK,
        Option.SHOP_GROCERIES,
        Option.SLEEP,
        Option.SOCIALISE,
    )
)
