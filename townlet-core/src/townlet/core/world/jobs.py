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

from townlet.core.world.state import MILLS, ShiftState, tile_keys

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["step_jobs"]


def step_jobs(world: World) -> None:
    """Advance shift states, pay wages and bonuses, count attendance."""
    a = world.agents
    clock = world.clock
    tod = clock.tick_of_day(world.tick)
    emp = (a.alive & (a.job >= 0)).nonzero()[0]
    if emp.size == 0:
        return
    job = a.job[emp]
    start, end = world.job_start[job], world.job_end[job]
    on_shift = (start <= tod) & (tod < end)
    if tod in world.shift_edges:  # a shift starts or ends now
        state = a.shift_state[emp]
        starting = start == tod
        state[starting] = ShiftState.PENDING
        a.arrived[emp[starting]] = False
        a.shift_days[emp[starting]] += 1
        state[end == tod] = ShiftState.OFF
        a.shift_state[emp] = state
    if not np.count_nonzero(on_shift):
        return
    emp, start = emp[on_shift], start[on_shift]
    a.scheduled_ticks[emp] += 1
    at_desk = tile_keys(a.xy)[emp] == world.object_keys[a.desk[emp]]
    state = a.shift_state[emp]
    pending = state == ShiftState.PENDING
    if np.count_nonzero(pending):
        _arrivals_and_absences(world, emp, start, state, pending, at_desk)
        a.shift_state[emp] = state
    present = at_desk & ((state == ShiftState.ON_TIME) | (state == ShiftState.LATE))
    paid = emp[present]
    if paid.size:
        a.present_ticks[paid] += 1
        world.economy.transfer(a, paid, world.job_wage[a.job[paid]], "wage")


def _arrivals_and_absences(
    world: World,
    emp: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    state: npt.NDArray[np.int8],
    pending: npt.NDArray[np.bool_],
    at_desk: npt.NDArray[np.bool_],
) -> None:
    """Pending employees on shift (``emp``) arrive on time or late, or turn absent."""
    a = world.agents
    cfg = world.config.world.jobs
    clock = world.clock
    lag = clock.tick_of_day(world.tick) - start
    arrive = pending & at_desk
    if np.count_nonzero(arrive):
        grace = clock.ticks_from_minutes(cfg.grace_minutes)
        window = max(1, clock.ticks_from_minutes(cfg.bonus_window_minutes))
        state[arrive] = np.where(lag[arrive] <= grace, ShiftState.ON_TIME, ShiftState.LATE)
        a.arrived[emp[arrive]] = True
        # Someone already waiting at the desk at the start arrived `lead` ticks early.
        lead = world.tick - a.reached_at[emp]
        offset = np.where(lag > 0, lag, lead)
        bonus = np.round(
            cfg.punctuality_bonus * MILLS * np.clip(1.0 - offset / window, 0.0, 1.0)
        ).astype(np.int64)
        paid = arrive & (bonus > 0)
        world.economy.transfer(a, emp[paid], bonus[paid], "punctuality_bonus")
        for k in np.flatnonzero(arrive & (state == ShiftState.LATE)):
            a.late_days[emp[k]] += 1
            world.record(
                "late", int(emp[k]), minutes_late=round(int(lag[k]) * 1440 / clock.ticks_per_day)
            )
    absent = pending & ~arrive & (lag >= clock.ticks_from_minutes(cfg.absent_after_minutes))
    if np.count_nonzero(absent):
        state[absent] = ShiftState.ABSENT
        a.absent_days[emp[absent]] += 1
        for k in np.flatnonzero(absent):
            world.record("absent", int(emp[k]))
