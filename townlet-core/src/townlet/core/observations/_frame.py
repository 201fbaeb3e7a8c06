"""What every part of an encoder reads, gathered once per call, for one or many towns.

A :class:`Frame` gathers from a :class:`~townlet.core.ports.RowsView` (the
agent slots of one or more towns end to end as *rows*), once per ``encode``
call, everything the features read: agent columns, per-town values
broadcast to rows (time of day, weather, prices), object holders as global
rows, ties as global rows, and the towns' next-step fields stacked as
``[T, O, H, W]``. It reads only the published views, as a
third-party encoder would. Towns encoded together must share their
geometry (the same town file), as the towns of a vector env do.

:class:`FrameCache` keeps what only changes when a town is rebuilt, its
weather changes or tiles close: padded static layers, the stacked fields and
each town's landmark table (:mod:`~townlet.core.observations._landmarks`).
It copies a town's fields into the stack only when that town's field arrays
change identity, so a batch of towns costs one gather per feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.observations._landmarks import landmark_table
from townlet.core.ports import (
    MEAL,
    OBJECT_TYPES,
    WEATHERS,
    AgentColumns,
    RowsView,
    TownMapView,
    WorldView,
)

__all__ = ["Frame", "FrameCache"]

WALL: Final = -1.0


def _static_layer(
    town: TownMapView, walkable: npt.NDArray[np.bool_], pad: int
) -> npt.NDArray[np.float32]:
    """``[H+2p, W+2p]``: -1 wall or off-map, 0 open, (k+1)/9 object of type k."""
    objects = np.where(walkable, np.float32(0.0), np.float32(WALL)).astype(np.float32)
    codes = np.array(
        [(OBJECT_TYPES.index(t) + 1) / len(OBJECT_TYPES) for t in town.object_types],
        dtype=np.float32,
    )
    if codes.size:
        objects[town.object_xy[:, 1], town.object_xy[:, 0]] = codes
    return np.pad(objects, pad, constant_values=WALL)


def _padded_steps(step: npt.NDArray[np.int8], pad: int) -> npt.NDArray[np.int8]:
    """``[O, H+2p, W+2p]``: first-step direction + 1, 0 where none or off the map."""
    out: npt.NDArray[np.int8] = np.pad(step + np.int8(1), ((0, 0), (pad, pad), (pad, pad)))
    return out


def _home_fridges(town: TownMapView) -> npt.NDArray[np.int64]:
    types = np.asarray(town.object_types)
    places = np.asarray(town.object_places)
    out = []
    for place in town.place_of_kind("home"):
        found = np.flatnonzero((places == place) & (types == "fridge"))
        out.append(int(found[0]) if found.size else -1)
    return np.array(out or [-1], dtype=np.int64)


class FrameCache:
    """Per-town layers, stacked fields and landmark tables that outlive one call
    (see the module docstring)."""

    def __init__(self, pad: int) -> None:
        self.pad = pad
        self._static: list[tuple[Any, Any, npt.NDArray[np.float32]]] = []
        self._stack_src: list[Any] = []
        self._static_src: list[Any] = []
        self.step = np.zeros((0, 0, 0, 0), dtype=np.int8)
        """``[T, O, H, W]`` next-step direction (-1: none)."""
        self.path_idx = np.zeros((0, 0, 0, 0), dtype=np.int8)
        """``[T, O, H+2p, W+2p]`` next-step direction + 1 (0: none or off-map)."""
        self._path_src: Any = None
        self.static = np.zeros((0, 0, 0), dtype=np.float32)
        self._geometry: tuple[int, ...] = ()
        self.home_fridge = np.zeros(1, dtype=np.int64)
        self.tables: list[npt.NDArray[np.float32]] = []
        """Each town's landmark table (:func:`landmark_table`)."""
        self._table_src: list[Any] = []
        self.arange = np.zeros(0, dtype=np.int64)
        """``[N]`` row numbers (``np.arange(N)``), kept for the last row count."""
        self.object_tiles = np.zeros((0, 0), dtype=np.int64)
        """``[T, O]`` flat index of each object's tile in the padded ``[T, H+2p, W+2p]`` grids."""
        self._static_version = 0
        """Bumped whenever :attr:`static` changes (in place too)."""
        self._local: tuple[int, npt.NDArray[np.float32]] = (-1, self.static)
        self._windows: dict[tuple[int, int], npt.NDArray[np.int64]] = {}
        self._spread: dict[str, tuple[Any, npt.NDArray[Any]]] = {}

    def spread(
        self, key: str, values: tuple[Any, ...], view: RowsView, dtype: Any
    ) -> npt.NDArray[Any]:
        """``values`` (one per town of ``view``) spread to its rows, kept (read-only)
        while the values and the towns' sizes stay the same: most per-town values
        change seldom (day length, prices, weather), and rebuilding one costs an
        array operation."""
        sizes = tuple(view.sizes)
        hit = self._spread.get(key)
        if hit is not None and hit[0] == (values, sizes):
            return hit[1]
        arr = (
            np.full(view.n_agents, values[0], dtype=dtype)
            if len(values) == 1
            else np.asarray(values, dtype=dtype)[view.town_index]
        )
        arr.flags.writeable = False
        self._spread[key] = ((values, sizes), arr)
        return arr

    def window(self, size: int) -> npt.NDArray[np.int64]:
        """``[size, size]`` flat offsets of a window's tiles from its centre tile in the
        padded grids."""
        wp = self.static.shape[2]
        key = (size, wp)
        offsets = self._windows.get(key)
        if offsets is None:
            span = np.arange(size, dtype=np.int64) - size // 2
            offsets = self._windows[key] = span[:, None] * wp + span[None, :]
        return offsets

    @property
    def local_static(self) -> npt.NDArray[np.float32]:
        """:attr:`static` with every object as 0.5 (the compact ``local`` channel)."""
        version, local = self._local
        if version != self._static_version:
            local = np.where(self.static > 0, np.float32(0.5), self.static)
            self._local = (self._static_version, local)
        return local

    def _check_geometry(self, worlds: Sequence[WorldView]) -> None:
        key = tuple(id(w.town) for w in worlds)
        if key == self._geometry:
            return
        first = worlds[0].town
        for w in worlds[1:]:
            t = w.town
            if t.shape != first.shape or not np.array_equal(t.object_xy, first.object_xy):
                raise ValueError("towns encoded together must share one town geometry")
        self.home_fridge = _home_fridges(first)
        self.object_tiles = np.zeros((0, 0), dtype=np.int64)
        self._geometry = key

    def _object_tiles(self, town: TownMapView, t_count: int) -> npt.NDArray[np.int64]:
        h, w = town.shape
        hp, wp = h + 2 * self.pad, w + 2 * self.pad
        xy = town.object_xy.astype(np.int64) + self.pad
        tiles: npt.NDArray[np.int64] = (
            np.arange(t_count, dtype=np.int64)[:, None] * (hp * wp) + xy[:, 1] * wp + xy[:, 0]
        )
        return tiles

    def update(self, worlds: Sequence[WorldView], n: int) -> None:
        """Refresh the layers, stacks and tables of towns that changed since the last
        call (``n``: the row count)."""
        self._check_geometry(worlds)
        if self.arange.size != n:
            self.arange = np.arange(n, dtype=np.int64)
        self._update_tables(worlds)
        t_count = len(worlds)
        first = worlds[0]
        if self.object_tiles.shape[0] != t_count:
            self.object_tiles = self._object_tiles(first.town, t_count)
        if t_count == 1:
            step = first.fields.step
            if self._path_src is not step:
                self.step = step[None]
                self.path_idx = _padded_steps(step, self.pad)[None]
                self._path_src = step
            layer = self._layer(0, first)
            if self.static.base is not layer:
                self.static = layer[None]
                self._static_version += 1
            return
        self._path_src = None
        shape = first.fields.step.shape
        if self.step.shape != (t_count, *shape) or self.step.base is not None:
            self.step = np.zeros((t_count, *shape), dtype=np.int8)
            self._stack_src = [None] * t_count
            h, w = first.town.shape
            self.path_idx = np.zeros(
                (t_count, shape[0], h + 2 * self.pad, w + 2 * self.pad), dtype=np.int8
            )
            self.static = np.zeros((t_count, h + 2 * self.pad, w + 2 * self.pad), np.float32)
            self._static_src = [None] * t_count
            self._static_version += 1
        for t, world in enumerate(worlds):
            if self._stack_src[t] is not world.fields.step:
                self.step[t] = world.fields.step
                self.path_idx[t] = _padded_steps(world.fields.step, self.pad)
                self._stack_src[t] = world.fields.step
            if self._static_src[t] is not world.walkable:
                self.static[t] = self._layer(t, world)
                self._static_src[t] = world.walkable
                self._static_version += 1

    def _update_tables(self, worlds: Sequence[WorldView]) -> None:
        if len(self._table_src) != len(worlds):
            self._table_src = [None] * len(worlds)
            self.tables = [np.zeros((0, 0, 0, 3), np.float32)] * len(worlds)
        for t, world in enumerate(worlds):
            dist = world.fields.dist
            if self._table_src[t] is not dist:
                self.tables[t] = landmark_table(world.town, dist)
                self._table_src[t] = dist

    def _layer(self, t: int, world: WorldView) -> npt.NDArray[np.float32]:
        while len(self._static) <= t:
            self._static.append((None, None, np.zeros((0, 0), np.float32)))
        town, walkable, layer = self._static[t]
        if town is not world.town or walkable is not world.walkable:
            layer = _static_layer(world.town, world.walkable, self.pad)
            self._static[t] = (world.town, world.walkable, layer)
        return layer


@dataclass
class Frame:
    """Rows of one or more towns and what the features read (module docstring)."""

    worlds: Sequence[WorldView]
    rows: RowsView
    """The towns' agent slots end to end (agent columns, per-town values)."""
    cache: FrameCache
    n: int
    arange: npt.NDArray[np.int64]
    """``[N]`` row numbers."""
    town: npt.NDArray[np.int64]
    """Town of each row."""
    a: AgentColumns
    """Agent columns over rows (``frame.a.needs``)."""
    alive: npt.NDArray[np.bool_]
    dead: npt.NDArray[np.bool_] | None
    """Empty rows (their observations are zeros), or None when there are none."""
    xy: npt.NDArray[np.int64]
    """``[N, 2]`` tile of each row."""
    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    has_target: npt.NDArray[np.bool_]
    tgt: npt.NDArray[np.int64]
    """Target object (0 where none: mask with ``has_target``)."""
    holder_row: npt.NDArray[np.integer[Any]]
    """``[T, O]`` row of each object's holder, or -1."""
    holds_target: npt.NDArray[np.bool_]
    """The row holds the reservation of its target object."""
    status: npt.NDArray[np.integer[Any]]
    tick: npt.NDArray[np.int64]
    tod: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    weather: npt.NDArray[np.int64]
    utility: npt.NDArray[np.bool_]
    meal_price: npt.NDArray[np.int64]
    ghost_after: npt.NDArray[np.int64]
    job_start: npt.NDArray[np.int64]
    """``[T, J]``."""
    job_end: npt.NDArray[np.int64]
    duration: npt.NDArray[np.int32]
    """``[T, A]`` affordance durations."""
    social: npt.NDArray[np.bool_]
    """Relationships are visible in observations (stage B or C), per row."""

    def of_town(
        self, table: npt.NDArray[Any], index: npt.NDArray[Any], *, clip: bool = False
    ) -> npt.NDArray[Any]:
        """``table[town, index]`` of each row (``table``: ``[T, K]``, one row per town),
        ``index`` first clipped into ``[0, K)`` with ``clip``; with one town a plain
        gather, which costs less than a two-axis one."""
        if len(self.worlds) == 1:
            return table[0].take(index, mode="clip") if clip else table[0][index]  # type: ignore[no-any-return]
        if clip:
            index = np.minimum(np.maximum(index, 0), table.shape[1] - 1)
        return table[self.town, index]  # type: ignore[no-any-return]

    def ties(
        self,
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.float32],
        npt.NDArray[np.float32],
        npt.NDArray[np.float32],
    ]:
        """``[N, 6]`` ties over rows: the other agent's row (or -1), trust,
        familiarity, rivalry."""
        a = self.a
        other = a.tie_other.astype(np.int64)
        if len(self.worlds) > 1:
            base = np.arange(self.n, dtype=np.int64) - self.rows.slots
            other = np.where(other >= 0, other + base[:, None], -1)
        return other, a.tie_trust, a.tie_familiarity, a.tie_rivalry

    @classmethod
    def of(cls, view: RowsView, cache: FrameCache) -> Frame:
        """Gather the frame of the towns of ``view`` as they are now."""
        worlds = view.worlds
        n = view.n_agents
        cache.update(worlds, n)
        single = len(worlds) == 1
        town = view.town_index
        rows = view.agents
        xy = rows.xy.astype(np.int64)
        alive = rows.alive
        target = rows.target
        has_target = target >= 0
        tgt = np.maximum(target, 0, dtype=np.int64)
        if single:
            holder_row = worlds[0].objects.holder[None]
        else:
            base = np.array(view.offsets, dtype=np.int64)
            holders = np.stack([w.objects.holder for w in worlds]).astype(np.int64)
            holder_row = np.where(holders >= 0, holders + base[:, None], -1)

        def stacked(values: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
            return values[0][None] if single else np.stack(values)

        tick = view.ticks
        day = cache.spread("day", tuple(w.clock.ticks_per_day for w in worlds), view, np.int64)
        config = view.config
        return cls(
            worlds=worlds,
            rows=view,
            cache=cache,
            n=n,
            arange=cache.arange,
            town=town,
            a=rows,
            alive=alive,
            dead=None if alive.all() else ~alive,
            xy=xy,
            x=xy[:, 0],
            y=xy[:, 1],
            has_target=has_target,
            tgt=tgt,
            holder_row=holder_row,
            holds_target=has_target & (holder_row[0 if single else town, tgt] == cache.arange),
            status=rows.option_status,
            tick=tick,
            tod=tick % day,
            day=day,
            weather=cache.spread(
                "weather", tuple(WEATHERS.index(w.weather) for w in worlds), view, np.int64
            ),
            utility=stacked([w.utility_on for w in worlds])[town],
            meal_price=cache.spread(
                "meal_price", tuple(int(w.economy.price[MEAL]) for w in worlds), view, np.int64
            ),
            ghost_after=cache.spread(
                "ghost_after", (config.world.queues.ghost_step_after,), view, np.int64
            ),
            job_start=stacked([w.job_start for w in worlds]),
            job_end=stacked([w.job_end for w in worlds]),
            duration=stacked([w.affordances.duration for w in worlds]),
            social=cache.spread(
                "social", (config.features.stages.relationships in ("B", "C"),), view, bool
            ),
        )
