"""Tile-by-tile movement along the path fields, with blocking and ghost steps.

Walls never pass; doors do. An agent moves one tile per tick toward its target.
A tile holding another agent blocks the move; after ``ghost_step_after``
failed moves in a row the agent takes one *ghost step* through the blocker
(counted as an incident), which breaks deadlocks in doorways. Waiting agents
stop at their place in line; an agent left standing on an object it no longer
holds steps off it so the next user can get in.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from townlet.core.world.pathing import DIRECTIONS
from townlet.core.world.queues import queue_ranks
from townlet.core.world.social import conflict
from townlet.core.world.state import NO, tile_keys

if TYPE_CHECKING:
    from townlet.core.world.rows import TownRows
    from townlet.core.world.world import World

__all__ = ["step_movement"]


def step_movement(towns: TownRows) -> None:
    """Move every walking agent one tile (or not, when blocked or in line)."""
    a = towns.agents
    worlds = towns.worlds
    first = worlds[0]
    slots = towns.slots
    free_hand = a.alive & (a.aff == NO) & (a.stall_until <= towns.ticks)
    walking = (free_hand & (a.target >= 0)).nonzero()[0]
    tgt = a.target[walking]
    away = tile_keys(a.xy)[walking] != first.object_keys[tgt]
    walking, tgt = walking[away], tgt[away]
    waiting = (towns.holders(walking, tgt) != slots[walking]) & (a.queue_obj[walking] >= 0)
    if np.count_nonzero(waiting):
        stop = np.zeros(walking.size, dtype=bool)
        stop[waiting] = (
            towns.along_paths("dist", walking[waiting], tgt[waiting])
            <= _ranks(towns, walking[waiting]) + 1
        )
        walking, tgt = walking[~stop], tgt[~stop]
    dirs = towns.along_paths("step", walking, tgt)

    # agents standing on an object they do not hold step off it
    idle = (free_hand & (a.target == NO)).nonzero()[0]
    on_obj = first.object_at[a.xy[idle, 1], a.xy[idle, 0]]
    squat = on_obj >= 0
    idle, on_obj = idle[squat], on_obj[squat]
    squatting = idle[towns.holders(idle, on_obj) != slots[idle]] if idle.size else idle

    if walking.size == 0 and squatting.size == 0:
        return
    slow = _may_clash(towns, walking, dirs, squatting)
    steps = [0] * len(worlds) if slow.all() else _walk_at_once(towns, walking, dirs, slow)
    for t, w_slots, w_dirs, s_slots in _by_town(towns, walking, dirs, squatting):
        world = worlds[t]
        if slow[t]:
            _move(world, w_slots + s_slots, w_dirs + [_STEP_OFF] * len(s_slots))
        else:
            world.rng.world.permutation(len(w_slots))  # the order of moves that cannot clash
            world.kpi.steps += steps[t]


def _walk_at_once(
    towns: TownRows,
    walking: npt.NDArray[np.int64],
    dirs: npt.NDArray[np.int8],
    slow: npt.NDArray[np.bool_],
) -> list[int]:
    """Every walker of a town where no move can affect another steps now (onto open
    tiles); returns the steps taken per town."""
    a = towns.agents
    step = dirs.astype(np.int64)
    fast = np.flatnonzero(~slow[towns.town_index[walking]] & (step >= 0))
    fast = fast[_open(towns.worlds[0], a.xy[walking[fast]], step[fast])]
    moved = walking[fast]
    a.xy[moved] += _DIRS[step[fast]]
    a.blocked[moved] = 0
    steps: list[int] = np.bincount(towns.town_index[moved], minlength=len(towns.worlds)).tolist()
    return steps


def _by_town(
    towns: TownRows,
    walking: npt.NDArray[np.int64],
    dirs: npt.NDArray[np.int8],
    squatting: npt.NDArray[np.int64],
) -> list[tuple[int, list[int], list[int], list[int]]]:
    """(town, walkers' slots, their directions, squatters' slots) of each town with movers."""
    w_cut, s_cut = towns.cuts(walking), towns.cuts(squatting)
    w_slots, s_slots = towns.slots[walking].tolist(), towns.slots[squatting].tolist()
    w_dirs = dirs.tolist()
    out = []
    for t in range(len(towns.worlds)):
        w0, w1, s0, s1 = w_cut[t], w_cut[t + 1], s_cut[t], s_cut[t + 1]
        if w0 < w1 or s0 < s1:
            out.append((t, w_slots[w0:w1], w_dirs[w0:w1], s_slots[s0:s1]))
    return out


def _open(
    world: World, xy: npt.NDArray[np.int16], step: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Whether the tile one ``step`` from ``xy`` is walkable (on the town's own map)."""
    dest = xy + _DIRS[step]
    walkable: npt.NDArray[np.bool_] = world.town.walkable[dest[:, 1], dest[:, 0]]
    return walkable


def _may_clash(
    towns: TownRows,
    walking: npt.NDArray[np.int64],
    dirs: npt.NDArray[np.int8],
    squatting: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """``[T]`` towns whose moves must be taken one by one: some walker heads for a
    tile someone stands on or another walker heads for, someone steps off an
    object, or tiles are closed."""
    a = towns.agents
    first = towns.worlds[0]
    h, w = first.town.shape
    cells = len(towns.worlds) * h * w
    if len(towns.worlds) == 1 and walking.size + squatting.size <= _FEW:
        return np.ones(1, dtype=bool)  # a few moves one by one cost less than the check
    slow = np.array([wd.walkable is not wd.town.walkable for wd in towns.worlds])
    slow[towns.town_index[squatting]] = True
    going = np.flatnonzero(dirs >= 0)
    if going.size:
        rows = walking[going]
        dest = a.xy[rows].astype(np.int64) + _DIRS[dirs[going]]
        dest_key = (towns.town_index[rows] * h + dest[:, 1]) * w + dest[:, 0]
        alive = np.flatnonzero(a.alive)
        xy = a.xy[alive].astype(np.int64)
        occupied = np.bincount(
            (towns.town_index[alive] * h + xy[:, 1]) * w + xy[:, 0], minlength=cells
        )
        heading = np.bincount(dest_key, minlength=cells)
        clash = (occupied[dest_key] > 0) | (heading[dest_key] > 1)
        slow[towns.town_index[rows[clash]]] = True
    return slow


def _ranks(towns: TownRows, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Place in line of queued non-holders ``rows``, town by town."""
    ranks = np.zeros(rows.size, dtype=np.int64)
    k = 0
    for world, slots in towns.by_town(rows):
        ranks[k : k + slots.size] = queue_ranks(world, slots)
        k += slots.size
    return ranks


def _move(world: World, movers: list[int], step_dir: list[int]) -> None:
    """One town's movers take their step in a random order (walkers first, then squatters)."""
    a = world.agents
    pos = a.xy.tolist()
    occ = Counter(tuple(pos[s]) for s in a.alive.nonzero()[0].tolist())
    ghost_after = world.settings.queues.ghost_step_after
    walkable = world.walkable
    for k in world.rng.world.permutation(len(movers)).tolist():
        slot = movers[k]
        d = step_dir[k]
        x, y = pos[slot]
        if d == _STEP_OFF:
            d = _free_neighbour(world, x, y, occ)
        if d < 0:
            continue
        dx, dy = _DELTAS[d]
        nx, ny = x + dx, y + dy
        if not walkable[ny, nx]:
            continue
        if occ[nx, ny] > 0:
            blocker = _slot_at(pos, a.alive, nx, ny, slot)
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
        occ[x, y] -= 1
        occ[nx, ny] += 1
        pos[slot] = [nx, ny]
        a.xy[slot] = nx, ny
        world.kpi.steps += 1


_FEW = 8
"""Up to this many movers, one town takes its moves one by one without checking for clashes."""
_STEP_OFF = -2
"""Pseudo-direction of an agent stepping off an object: any free neighbour."""
_DELTAS = [(int(dx), int(dy)) for dx, dy in DIRECTIONS]
_DIRS = DIRECTIONS.astype(np.int16)


def _slot_at(
    pos: list[list[int]], alive: npt.NDArray[np.bool_], x: int, y: int, exclude: int
) -> int:
    """A living agent other than ``exclude`` on ``(x, y)``, or -1."""
    for slot, (px, py) in enumerate(pos):
        if px == x and py == y and slot != exclude and alive[slot]:
            return slot
    return NO


def _free_neighbour(world: World, x: int, y: int, occ: Counter[tuple[int, int]]) -> int:
    h, w = world.walkable.shape
    for d, (dx, dy) in enumerate(_DELTAS):
        nx, ny = x + dx, y + dy
        if (
            0 <= nx < w
            and 0 <= ny < h
            and world.walkable[ny, nx]
            and world.object_at[ny, nx] < 0
            and occ[nx, ny] == 0
        ):
            return d
    return -1
