"""Employment: shift windows per day, arrival states, wages and attendance.

Each job has a daily shift ``[start, end)`` (ticks of day). At ``start`` an
employed agent is *pending*; arriving at its desk within the grace window makes
it *on time*, later *late*; not arriving by ``start + absent_after`` makes it
*absent* for the day, which withholds wages even if it turns up later. Wages
are paid per tick at the desk on shift. Arriving near the start earns a
punctuality bonus that falls off linearly to zero at ±bonus window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from townlet.core.world.economy import pay_rows
from townlet.core.world.options import Option, OptionStatus
from townlet.core.world.state import MILLS, ShiftState, tile_keys

if TYPE_CHECKING:
    from townlet.core.world.rows import TownRows

__all__ = ["end_shifts", "step_jobs"]


def step_jobs(towns: TownRows) -> None:
    """Advance shift states, pay wages and bonuses, count attendance."""
    a = towns.agents
    first = towns.worlds[0]
    emp = (a.alive & (a.job >= 0)).nonzero()[0]
    if emp.size == 0:
        return
    tod = towns.tod[emp]
    job = a.job[emp]
    start, end = first.job_start[job], first.job_end[job]
    on_shift = (start <= tod) & (tod < end)
    edges = first.shift_edges
    if any(w.clock.tick_of_day(w.tick) in edges for w in towns.worlds):  # shifts start or end
        state = a.shift_state[emp]
        starting = start == tod
        state[starting] = ShiftState.PENDING
        a.arrived[emp[starting]] = False
        a.shift_days[emp[starting]] += 1
        state[end == tod] = ShiftState.OFF
        a.shift_state[emp] = state
    if not np.count_nonzero(on_shift):
        return
    emp, start, tod = emp[on_shift], start[on_shift], tod[on_shift]
    a.scheduled_ticks[emp] += 1
    at_desk = tile_keys(a.xy)[emp] == first.object_keys[a.desk[emp]]
    state = a.shift_state[emp]
    pending = state == ShiftState.PENDING
    if np.count_nonzero(pending):
        _arrivals_and_absences(towns, emp, tod - start, state, pending, at_desk)
        a.shift_state[emp] = state
    present = at_desk & ((state == ShiftState.ON_TIME) | (state == ShiftState.LATE))
    paid = emp[present]
    if paid.size:
        a.present_ticks[paid] += 1
        pay_rows(towns, paid, first.job_wage[a.job[paid]], "wage")


def _arrivals_and_absences(
    towns: TownRows,
    emp: npt.NDArray[np.int64],
    lag: npt.NDArray[np.int64],
    state: npt.NDArray[np.int8],
    pending: npt.NDArray[np.bool_],
    at_desk: npt.NDArray[np.bool_],
) -> None:
    """Pending employees on shift (rows ``emp``, ``lag`` ticks after their shift
    started) arrive on time or late, or turn absent."""
    a = towns.agents
    cfg = towns.config.world.jobs
    clock = towns.worlds[0].clock
    arrive = pending & at_desk
    if np.count_nonzero(arrive):
        grace = clock.ticks_from_minutes(cfg.grace_minutes)
        window = max(1, clock.ticks_from_minutes(cfg.bonus_window_minutes))
        state[arrive] = np.where(lag[arrive] <= grace, ShiftState.ON_TIME, ShiftState.LATE)
        a.arrived[emp[arrive]] = True
        # Someone already waiting at the desk at the start arrived `lead` ticks early.
        lead = towns.ticks[emp] - a.reached_at[emp]
        offset = np.where(lag > 0, lag, lead)
        bonus = np.round(
            cfg.punctuality_bonus * MILLS * np.clip(1.0 - offset / window, 0.0, 1.0)
        ).astype(np.int64)
        paid = arrive & (bonus > 0)
        pay_rows(towns, emp[paid], bonus[paid], "punctuality_bonus")
        for k in np.flatnonzero(arrive & (state == ShiftState.LATE)):
            a.late_days[emp[k]] += 1
            world, slot = towns.locate(int(emp[k]))
            world.record("late", slot, minutes_late=round(int(lag[k]) * 1440 / clock.ticks_per_day))
    absent = pending & ~arrive & (lag >= clock.ticks_from_minutes(cfg.absent_after_minutes))
    if np.count_nonzero(absent):
        state[absent] = ShiftState.ABSENT
        a.absent_days[emp[absent]] += 1
        for k in np.flatnonzero(absent):
            world, slot = towns.locate(int(emp[k]))
            world.record("absent", slot)


def end_shifts(towns: TownRows) -> None:
    """Working agents whose shift is over (or who missed it) finish GoToWork."""
    a = towns.agents
    going = (
        (a.option == Option.GO_TO_WORK)
        & (a.option_status == OptionStatus.ACTIVE)
        & a.alive
        & (a.job >= 0)
    ).nonzero()[0]
    if going.size == 0:
        return
    job_end = towns.worlds[0].job_end
    over = (towns.tod[going] >= job_end[a.job[going]] - 1) | (
        a.shift_state[going] == ShiftState.ABSENT
    )
    for row in going[over].tolist():
        world, slot = towns.locate(row)
        world.end_option(slot, OptionStatus.DONE)
