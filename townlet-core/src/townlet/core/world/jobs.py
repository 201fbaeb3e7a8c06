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

from townlet.core.world.state import MILLS, ShiftState

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["step_jobs"]


def step_jobs(world: World) -> None:
    """Advance shift states, pay wages and bonuses, count attendance."""
    a = world.agents
    cfg = world.config.world.jobs
    clock = world.clock
    tod = clock.tick_of_day(world.tick)
    emp = np.flatnonzero(a.alive & (a.job >= 0))
    if emp.size == 0:
        return
    job = a.job[emp]
    start, end, wage = world.job_start[job], world.job_end[job], world.job_wage[job]
    state = a.shift_state[emp]
    starting = start == tod
    state[starting] = ShiftState.PENDING
    a.arrived[emp[starting]] = False
    a.shift_days[emp[starting]] += 1
    state[end == tod] = ShiftState.OFF
    on_shift = (start <= tod) & (tod < end)
    a.scheduled_ticks[emp[on_shift]] += 1

    at_desk = np.all(a.xy[emp] == world.town.object_xy[a.desk[emp]], axis=1)
    lag = tod - start
    arrive = on_shift & (state == ShiftState.PENDING) & at_desk
    if arrive.any():
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
    absent_after = clock.ticks_from_minutes(cfg.absent_after_minutes)
    absent = on_shift & (state == ShiftState.PENDING) & (lag >= absent_after)
    if absent.any():
        state[absent] = ShiftState.ABSENT
        a.absent_days[emp[absent]] += 1
        for k in np.flatnonzero(absent):
            world.record("absent", int(emp[k]))
    present = on_shift & at_desk & ((state == ShiftState.ON_TIME) | (state == ShiftState.LATE))
    a.present_ticks[emp[present]] += 1
    world.economy.transfer(a, emp[present], wage[present], "wage")
    a.shift_state[emp] = state
