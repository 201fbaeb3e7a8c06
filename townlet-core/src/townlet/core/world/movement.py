"""Tile-by-tile movement along the path fields, with blocking and ghost steps.

Walls never pass; doors do. An agent moves one tile per tick toward its target.
A tile holding another agent blocks the move; after ``ghost_step_after``
failed moves in a row the agent takes one *ghost step* through the blocker
(counted as an incident), which breaks deadlocks in doorways. Waiting agents
stop at their place in line; an agent left standing on an object it no longer
holds steps off it so the next user can get in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from townlet.core.world.pathing import DIRECTIONS
from townlet.core.world.queues import queue_ranks
from townlet.core.world.social import conflict
from townlet.core.world.state import NO

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["step_movement"]


def step_movement(world: World) -> None:
    """Move every walking agent one tile (or not, when blocked or in line)."""
    a = world.agents
    objs = world.objects
    town = world.town
    alive = a.alive
    free_hand = alive & (a.aff == NO) & (a.stall_until <= world.tick)
    walking = np.flatnonzero(free_hand & (a.target >= 0))
    tgt = a.target[walking].astype(np.int64)
    at_target = np.all(a.xy[walking] == town.object_xy[tgt], axis=1)
    walking, tgt = walking[~at_target], tgt[~at_target]
    holder = objs.holder[tgt] == walking
    waiting = ~holder & (a.queue_obj[walking] >= 0)
    if waiting.any():
        ranks = queue_ranks(world, walking[waiting])
        dist = world.fields.distance(tgt[waiting], a.xy[walking[waiting]])
        stop = np.zeros(walking.size, dtype=bool)
        stop[waiting] = dist <= ranks + 1
        walking, tgt = walking[~stop], tgt[~stop]
    dirs = world.fields.next_step(tgt, a.xy[walking]).astype(np.int64)

    # agents standing on an object they do not hold step off it
    ox, oy = a.xy[:, 0], a.xy[:, 1]
    on_obj = world.object_at[oy, ox]
    squatting = np.flatnonzero(free_hand & (on_obj >= 0) & (a.target == NO))
    squatting = squatting[objs.holder[on_obj[squatting]] != squatting]

    movers = np.concatenate([walking, squatting])
    if movers.size == 0:
        return
    step_dir = np.concatenate([dirs, np.full(squatting.size, -2, dtype=np.int64)])
    occ = world.occupancy()
    ghost_after = world.config.world.queues.ghost_step_after
    order = world.rng.world.permutation(movers.size)
    walkable = world.walkable
    for k in order:
        slot = int(movers[k])
        d = int(step_dir[k])
        x, y = int(a.xy[slot, 0]), int(a.xy[slot, 1])
        if d == -2:
            d = _free_neighbour(world, x, y, occ)
        if d < 0:
            continue
        nx, ny = x + int(DIRECTIONS[d, 0]), y + int(DIRECTIONS[d, 1])
        if not walkable[ny, nx]:
            continue
        if occ[ny, nx] > 0:
            blocker = world.slot_at(nx, ny, exclude=slot)
            target = int(a.target[slot])
            if a.blocked[slot] < ghost_after:
                a.blocked[slot] += 1
                world.kpi.blocked_moves += 1
                if a.blocked[slot] == 1 and blocker >= 0:
                    conflict(world, "blocked", slot, blocker, target)
                continue
            world.kpi.ghost_steps += 1
            if blocker >= 0:
                conflict(world, "ghost_step", blocker, slot, target)
        a.blocked[slot] = 0
        occ[y, x] -= 1
        occ[ny, nx] += 1
        a.xy[slot, 0], a.xy[slot, 1] = nx, ny
        world.kpi.steps += 1


def _free_neighbour(world: World, x: int, y: int, occ: np.ndarray) -> int:
    for d, (dx, dy) in enumerate(DIRECTIONS):
        nx, ny = x + int(dx), y + int(dy)
        if (
            0 <= nx < occ.shape[1]
            and 0 <= ny < occ.shape[0]
            and world.walkable[ny, nx]
            and world.object_at[ny, nx] < 0
            and occ[ny, nx] == 0
        ):
            return d
    return -1
