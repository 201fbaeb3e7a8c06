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

from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from townlet.core.ports import (
    ENERGY,
    EXTROVERSION,
    HUNGER,
    HYGIENE,
    MEAL,
    MILLS,
    OPTION_ACTIVE,
    OPTIONS,
    PLUGIN_API_VERSION,
    RAW_FOOD,
    SHIFT_STATES,
    AgentColumns,
    ClockView,
    PluginParams,
    RowsView,
    WorldView,
)

__all__ = ["ScriptedPolicy", "ScriptedPolicyParams"]

_MINUTES_PER_DAY: Final = 1440
_ABSENT: Final = SHIFT_STATES.index("absent")


class ScriptedPolicyParams(PluginParams):
    """Thresholds of the scripted policy."""

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
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION

    def __init__(self, params: ScriptedPolicyParams) -> None:
        self.params = params
        self.rng = np.random.default_rng(0)

    def reset(self, world: WorldView, rng: np.random.Generator) -> None:
        """Keep the policy RNG stream (used only for the decision to socialise)."""
        self.rng = rng

    def act(self, world: WorldView) -> npt.NDArray[np.int64]:
        """One option per agent slot."""
        a = world.agents
        n = world.n_agents
        tod = np.full(n, world.tick, dtype=np.int64) % world.clock.ticks_per_day
        xy = a.xy
        travel = world.fields.dist[np.maximum(a.desk, 0), xy[:, 1], xy[:, 0]]
        return self._decide(
            a, tod, world.clock, world.job_start, world.job_end, travel, world.action_masks()
        )

    def act_many(self, rows: RowsView) -> npt.NDArray[np.int64]:
        """One option per row of several towns of one config (their slots end to end),
        decided in one pass: equal to concatenating :meth:`act` of each town in order."""
        a = rows.agents
        first = rows.worlds[0]
        travel = rows.along_paths("dist", np.arange(rows.n_agents), np.maximum(a.desk, 0))
        masks = [w.action_masks() for w in rows.worlds]
        return self._decide(
            a,
            rows.tod,
            first.clock,
            first.job_start,
            first.job_end,
            travel,
            masks[0] if len(masks) == 1 else np.concatenate(masks),
        )

    def _decide(
        self,
        a: AgentColumns,
        tod: npt.NDArray[np.int64],
        clock: ClockView,
        job_start: npt.NDArray[np.int64],
        job_end: npt.NDArray[np.int64],
        travel: npt.NDArray[np.float32],
        masks: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.int64]:
        """The options of every row (``travel``: path cost to the row's desk)."""
        p = self.params
        n = a.alive.size
        needs = a.needs
        hour = tod * _MINUTES_PER_DAY // clock.ticks_per_day // 60
        hunger, hygiene, energy = needs[:, HUNGER], needs[:, HYGIENE], needs[:, ENERGY]

        employed = a.job >= 0
        job = np.maximum(a.job, 0)
        start, end = job_start[job], job_end[job]
        travel[np.isinf(travel)] = 0.0  # no path to the desk: leave at the start
        leave_at = start - travel - p.work_buffer
        work_time = employed & (tod >= leave_at) & (tod < end - 1) & (a.shift_state != _ABSENT)
        prep = (
            employed
            & ~work_time
            & (tod < start)
            & (tod >= start - clock.ticks_from_minutes(p.prep_minutes))
        )
        night = (hour >= p.night_start) | (hour < p.night_end)
        larder = a.inventory[:, RAW_FOOD] + a.inventory[:, MEAL]

        # wanted[level, agent, option]: level 0 is the most urgent.
        wanted = np.zeros((6, n, len(OPTIONS)), dtype=bool)
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
        chance = p.socialise_chance * (1.0 + a.personality[:, EXTROVERSION])
        wanted[5, :, _CHAT] = (
            ~night & (needs.min(axis=1) > p.socialise_level) & (self.rng.random(n) < chance)
        )
        wanted &= masks[None]

        any_level = wanted.any(axis=2)  # [levels, n]
        has_any = any_level.any(axis=0)
        best = np.argmax(any_level, axis=0)  # first level with a wanted option
        at_best = wanted[best, np.arange(n)]  # [n, options]
        current = a.option.astype(np.int64)
        active = (a.option_status == OPTION_ACTIVE) & (current != _WAIT)
        pressing = has_any & (best <= 1) & ~at_best[np.arange(n), current]
        keep = active & ~pressing
        first_wanted = np.argmax(at_best, axis=1)
        return np.where(keep, current, np.where(has_any, first_wanted, _WAIT)).astype(np.int64)


_WAIT, _FED, _CLEAN, _WORK, _SHOP, _SLEEP, _CHAT = (
    OPTIONS.index(o)
    for o in ("wait", "get_fed", "get_clean", "go_to_work", "shop_groceries", "sleep", "socialise")
)
