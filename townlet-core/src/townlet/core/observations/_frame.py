"""What every part of an encoder reads, gathered once per call, for one or many towns.

A :class:`Frame` gathers from a :class:`~townlet.core.ports.RowsView` (the
agent slots of one or more towns end to end as *rows*), once per ``encode``
call, everything the features read: agent columns, per-town values
broadcast to rows (time of day, weather, prices), object holders as global
rows, ties as global rows, and the towns' distance and next-step fields
stacked as ``[T, O, H, W]``. It reads only the published views, as a
third-party encoder would. Towns encoded together must share their
geometry (the same town file), as the towns of a vector env do.

:class:`FrameCache` keeps what only changes when a town is rebuilt, its
weather changes or tiles close: padded static layers and the stacked fields.
It copies a town's fields into the stack only when that town's field arrays
change identity, so a batch of towns costs one gather per feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.ports import (
    MEAL,
    OBJECT_TYPES,
    WEATHERS,
    AgentColumns,
    RowsView,
    TownMapView,
    WorldView,
)

__all__ = ["DIST_SCALE", "Frame", "FrameCache", "squash"]

DIST_SCALE: Final = 20.0
"""Distances ``d`` are squashed to ``d / (d + DIST_SCALE)`` in [0, 1)."""
WALL: Final = -1.0
_FAR: Final = 1e30


def squash(d: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    """Map path costs in [0, inf] to [0, 1]; unreachable (inf) becomes 1."""
    m = np.minimum(d, np.float32(_FAR))  # far / (far + scale) rounds to exactly 1 in float32
    out: npt.NDArray[np.float32] = (m / (m + np.float32(DIST_SCALE))).astype(np.float32, copy=False)
    return out


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
    """Per-town layers and stacked fields that outlive one call (see the module docstring)."""

    def __init__(self, pad: int) -> None:
        self.pad = pad
        self._static: list[tuple[Any, Any, npt.NDArray[np.float32]]] = []
        self._stack_src: list[Any] = []
        self._static_src: list[Any] = []
        self.dist = np.zeros((0, 0, 0, 0), dtype=np.float32)
        self.step = np.zeros((0, 0, 0, 0), dtype=np.int8)
        self.path_idx = np.zeros((0, 0, 0, 0), dtype=np.int8)
        """``[T, O, H+2p, W+2p]`` next-step direction + 1 (0: none or off-map)."""
        self._path_src: Any = None
        self.static = np.zeros((0, 0, 0), dtype=np.float32)
        self._geometry: tuple[int, ...] = ()
        self.home_fridge = np.zeros(1, dtype=np.int64)
        self.showers = np.zeros(0, dtype=np.int64)
        self.tills = np.zeros(0, dtype=np.int64)

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
        self.showers = first.objects_of_type("shower")
        self.tills = first.objects_of_type("till")
        self._geometry = key

    def update(self, worlds: Sequence[WorldView]) -> None:
        """Refresh the layers and stacks of towns that changed since the last call."""
        self._check_geometry(worlds)
        t_count = len(worlds)
        first = worlds[0]
        if t_count == 1:
            self.dist = first.fields.dist[None]
            self.step = first.fields.step[None]
            if self._path_src is not first.fields.step:
                self.path_idx = _padded_steps(first.fields.step, self.pad)[None]
                self._path_src = first.fields.step
            self.static = self._layer(0, first)[None]
            return
        self._path_src = None
        shape = first.fields.dist.shape
        if self.dist.shape != (t_count, *shape) or self.dist.base is not None:
            self.dist = np.zeros((t_count, *shape), dtype=np.float32)
            self.step = np.zeros((t_count, *shape), dtype=np.int8)
            self._stack_src = [None] * t_count
            h, w = first.town.shape
            self.path_idx = np.zeros(
                (t_count, shape[0], h + 2 * self.pad, w + 2 * self.pad), dtype=np.int8
            )
            self.static = np.zeros((t_count, h + 2 * self.pad, w + 2 * self.pad), np.float32)
            self._static_src = [None] * t_count
        for t, world in enumerate(worlds):
            if self._stack_src[t] is not world.fields.dist:
                self.dist[t] = world.fields.dist
                self.step[t] = world.fields.step
                self.path_idx[t] = _padded_steps(world.fields.step, self.pad)
                self._stack_src[t] = world.fields.dist
            if self._static_src[t] is not world.walkable:
                self.static[t] = self._layer(t, world)
                self._static_src[t] = world.walkable

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
    town: npt.NDArray[np.int64]
    """Town of each row."""
    a: AgentColumns
    """Agent columns over rows (``frame.a.needs``)."""
    alive: npt.NDArray[np.bool_]
    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    has_target: npt.NDArray[np.bool_]
    tgt: npt.NDArray[np.int64]
    """Target object (0 where none: mask with ``has_target``)."""
    holder_row: npt.NDArray[np.int64]
    """``[T, O]`` row of each object's holder, or -1."""
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
        cache.update(worlds)
        single = len(worlds) == 1
        n = view.n_agents
        town = view.town_index
        rows = view.agents
        xy = rows.xy
        target = rows.target
        has_target = target >= 0
        if single:
            holder_row = worlds[0].objects.holder[None].astype(np.int64)
        else:
            base = np.array(view.offsets, dtype=np.int64)
            holders = np.stack([w.objects.holder for w in worlds]).astype(np.int64)
            holder_row = np.where(holders >= 0, holders + base[:, None], -1)

        def per_town(values: list[Any], dtype: Any) -> npt.NDArray[Any]:
            if single:
                return np.full(n, values[0], dtype=dtype)
            return np.asarray(values, dtype=dtype)[town]

        def stacked(values: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
            return values[0][None] if single else np.stack(values)

        days = [w.clock.ticks_per_day for w in worlds]
        return cls(
            worlds=worlds,
            rows=view,
            cache=cache,
            n=n,
            town=town,
            a=rows,
            alive=rows.alive,
            x=xy[:, 0].astype(np.int64),
            y=xy[:, 1].astype(np.int64),
            has_target=has_target,
            tgt=np.where(has_target, target, 0).astype(np.int64),
            holder_row=holder_row,
            status=rows.option_status,
            tick=view.ticks,
            tod=per_town([w.tick % d for w, d in zip(worlds, days, strict=True)], np.int64),
            day=per_town(days, np.int64),
            weather=per_town([WEATHERS.index(w.weather) for w in worlds], np.int64),
            utility=stacked([w.utility_on for w in worlds])[town],
            meal_price=per_town([int(w.economy.price[MEAL]) for w in worlds], np.int64),
            ghost_after=np.full(n, view.config.world.queues.ghost_step_after, dtype=np.int64),
            job_start=stacked([w.job_start for w in worlds]),
            job_end=stacked([w.job_end for w in worlds]),
            duration=stacked([w.affordances.duration for w in worlds]),
            social=np.full(n, view.config.features.stages.relationships in ("B", "C")),
        )
