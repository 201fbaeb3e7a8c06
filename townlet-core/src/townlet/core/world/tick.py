"""One tick of one or more towns: every system in order, each over all towns' rows at once.

Tick order (one call of :func:`step_worlds`, or :meth:`World.step` for one town):

1. weather and utilities (hourly rolls; outages end or begin)
2. options: the policy's choices are applied (mask, commitment window)
3. planning: agents without a target pick their option's next object
4. queues: agents near their target join its queue; free objects are reserved
5. movement: one tile per walking agent; blocking and ghost steps
6. arrivals: holders on their object start the affordance (or start work)
7. affordances: per-tick effects, utility failures, completions
8. reservations past their timeout are released
9. employment: shift states, wages, bonuses, attendance; shifts that ended
10. midnight: rent, restock, arrears, absences and hiring
11. needs decay; threshold hooks
12. hourly relationship decay; lifecycle exits and arrivals
13. KPIs, then the ``on_tick`` hook; ``tick`` advances

A config's timeline events (console commands at ticks) apply first, before
weather; perturbations start and end right after weather (step 1); conflicts, shared
meals and chats are detected inside the systems where they happen.

Towns stepped together pass each step together: a system finds the rows it
acts on with one array operation over every town's agent slots (see
:mod:`~townlet.core.world.rows`) and calls into a town only for the rows
that need it. Each town draws from its own RNG streams in the same order as
when it runs alone, so a town's run does not depend on its neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from townlet.core.world.interact import start_arrivals, step_affordances
from townlet.core.world.jobs import end_shifts, step_jobs
from townlet.core.world.lifecycle import count_danger
from townlet.core.world.movement import step_movement
from townlet.core.world.needs import step_needs
from townlet.core.world.options import apply_options, plan_steps
from townlet.core.world.queues import expire_reservations, grant_reservations, join_queues
from townlet.core.world.rows import TownRows
from townlet.core.world.weather import step_weather

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["step_worlds", "steps_together"]


def step_worlds(worlds: Sequence[World], options: npt.NDArray[np.integer[Any]]) -> None:
    """Advance every world one tick; ``options`` holds one option per row (slots end to end).

    Towns are stepped together when :func:`steps_together` says so (one town,
    or the towns of a vector env); otherwise each town steps on its own.
    """
    rows = TownRows(worlds)
    options = np.asarray(options)
    if not steps_together(rows):
        for t, world in enumerate(rows.worlds):
            step_worlds((world,), options[rows.span(t)])
        return
    a = rows.agents
    a.ctx_reset[:] = False
    for world in rows.worlds:
        world.events = []
        world.narrator.begin_tick()
        if world.timeline is not None:
            world.timeline.apply_due(world)
        step_weather(world)
        world.perturbations.step(world)
    forced = a.forced
    if np.count_nonzero(forced >= 0):
        options = np.where(forced >= 0, forced, options)
    apply_options(rows, options)
    plan_steps(rows)
    join_queues(rows)
    grant_reservations(rows)
    step_movement(rows)
    start_arrivals(rows)
    step_affordances(rows)
    expire_reservations(rows)
    step_jobs(rows)
    end_shifts(rows)
    for world in rows.worlds:
        if world.clock.tick_of_day(world.tick) == 0 and world.tick > 0:
            world.midnight()
    step_needs(rows)
    for world in rows.worlds:
        if world.relationships_on and world.tick % world.clock.ticks_per_hour == 0 and world.tick:
            world.relations.decay()
    count_danger(rows)
    for world in rows.worlds:
        world.lifecycle.step(world)
    _count_kpis(rows)
    for world in rows.worlds:
        if world.hooks.on_tick.get_hookimpls():  # the common case has no listener
            world.hooks.on_tick(world=world, tick=world.tick)
        world.tick += 1


def steps_together(rows: TownRows) -> bool:
    """Whether :func:`step_worlds` steps these towns together: their agent arrays are
    one storage and they share their world settings, town and affordances (the
    same loaded objects, as the towns of a vector env do)."""
    first = rows.worlds[0]
    return rows.shared and all(
        w.settings is first.settings and w.town is first.town and w.affordances is first.affordances
        for w in rows.worlds
    )


def _count_kpis(rows: TownRows) -> None:
    """One tick of need health per town (agent-ticks alive, and with every need met)."""
    a = rows.agents
    alive = a.alive
    ok = alive & (a.needs.min(axis=1) > rows.config.world.needs.threshold)
    if len(rows.worlds) == 1:
        counts = [[int(np.count_nonzero(alive)), int(np.count_nonzero(ok))]]
    else:
        per_town = np.add.reduceat(np.stack([alive, ok]), rows.offsets, axis=1, dtype=np.int64)
        counts = per_town.T.tolist()
    a.alive_ticks += alive
    a.ok_ticks += ok
    for world, (n_alive, n_ok) in zip(rows.worlds, counts, strict=True):
        world.kpi.accumulate(n_alive, n_ok)
