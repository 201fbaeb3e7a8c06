"""Precomputed path fields: one distance and next-step array per object.

``dist[o, y, x]`` is the weighted cost of walking from ``(x, y)`` to object
``o``; ``step[o, y, x]`` the direction of the first step (``-1`` when already
there or when ``o`` is unreachable). Following a field is an O(1) lookup per
agent per tick. Fields are recomputed only when costs change (weather) or
tiles are closed (a facility shuts), never per step.

Entering a tile costs its weight (1 indoors; outdoors more in rain or cold).
Object tiles can be entered only by someone heading to that object, so paths
never cut across furniture.

Fields depend only on the map, the outdoor weight and the closed tiles, so
they are shared (read-only) by every world of the process with the same
three: towns that reset or run side by side compute each field set once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Final

import numpy as np
import numpy.typing as npt

from townlet.core.world.townmap import TownMap

__all__ = ["DIRECTIONS", "PathFields"]

DIRECTIONS: Final = np.array([[0, -1], [1, 0], [0, 1], [-1, 0]], dtype=np.int16)
"""(dx, dy) of the moves north, east, south, west."""
_INF: Final = np.float32(np.inf)
_SHARED: OrderedDict[
    tuple[bytes, float, bytes], tuple[npt.NDArray[np.float32], npt.NDArray[np.int8]]
] = OrderedDict()
"""(map, outdoor weight, closed tiles) → (dist, step), least recently used first."""
_SHARED_MAX: Final = 24


class PathFields:
    """Distance and next-step fields for every object of a town."""

    def __init__(self, town: TownMap, outdoor_cost: float = 1.0) -> None:
        self.town = town
        self.closed = np.zeros(town.shape, dtype=bool)
        self.outdoor_cost = outdoor_cost
        self.dist: npt.NDArray[np.float32]
        self.step: npt.NDArray[np.int8]
        self._map_key = hashlib.blake2b(
            town.tiles.tobytes() + town.object_xy.tobytes() + repr(town.shape).encode(),
            digest_size=16,
        ).digest()
        self._closed_key = b""
        self.recompute()

    def set_outdoor_cost(self, cost: float) -> None:
        """Change the outdoor tile weight (weather); fields per weight are cached."""
        if cost != self.outdoor_cost:
            self.outdoor_cost = cost
            self.recompute()

    def set_closed(self, closed: npt.NDArray[np.bool_]) -> None:
        """Block extra tiles (e.g. the doors of a closed facility) and recompute."""
        if not np.array_equal(closed, self.closed):
            self.closed = closed.copy()
            self._closed_key = (
                hashlib.blake2b(np.packbits(closed).tobytes(), digest_size=16).digest()
                if closed.any()
                else b""
            )
            self.recompute()

    def recompute(self) -> None:
        """Rebuild every field (vectorised Bellman–Ford over all objects at once).

        Results are shared through a process-wide cache (see the module
        docstring), so weather that comes back costs nothing.
        """
        key = (self._map_key, float(self.outdoor_cost), self._closed_key)
        cached = _SHARED.get(key)
        if cached is not None:
            _SHARED.move_to_end(key)
            self.dist, self.step = cached
            return
        town = self.town
        h, w = town.shape
        n_obj = len(town.object_ids)
        walk = town.walkable & ~self.closed
        cost = np.where(town.outdoor, np.float32(self.outdoor_cost), np.float32(1.0))
        cost = cost.astype(np.float32)
        obj_tile = np.zeros((h, w), dtype=bool)
        ox, oy = town.object_xy[:, 0], town.object_xy[:, 1]
        obj_tile[oy, ox] = True
        # enterable[o]: tiles a walker heading to o may step onto.
        enterable = np.broadcast_to(walk & ~obj_tile, (n_obj, h, w)).copy()
        enterable[np.arange(n_obj), oy, ox] = walk[oy, ox]
        dist = np.full((n_obj, h, w), _INF, dtype=np.float32)
        dist[np.arange(n_obj), oy, ox] = 0.0
        enter_cost = np.where(enterable, cost[None], _INF)
        while True:
            via = dist + enter_cost
            best = _neighbour_min(via)
            new = np.where(walk[None], np.minimum(dist, best), _INF)
            new[np.arange(n_obj), oy, ox] = np.where(walk[oy, ox], 0.0, _INF)
            if np.array_equal(new, dist):
                break
            dist = new
        step = _first_steps(dist + enter_cost, dist)
        dist.flags.writeable = step.flags.writeable = False
        self.dist, self.step = dist, step
        _SHARED[key] = (dist, step)
        if len(_SHARED) > _SHARED_MAX:
            _SHARED.popitem(last=False)


def _shifted(a: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
    """Value of the north/east/south/west neighbour of every tile (inf off-map)."""
    out = []
    for dx, dy in DIRECTIONS:
        s = np.full_like(a, _INF)
        h, w = a.shape[-2:]
        ys = slice(max(-dy, 0), h - max(dy, 0))
        yd = slice(max(dy, 0), h - max(-dy, 0))
        xs = slice(max(-dx, 0), w - max(dx, 0))
        xd = slice(max(dx, 0), w - max(-dx, 0))
        s[..., ys, xs] = a[..., yd, xd]
        out.append(s)
    return out


def _neighbour_min(a: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    n, e, s, w = _shifted(a)
    return np.minimum(np.minimum(n, e), np.minimum(s, w))


def _first_steps(
    via: npt.NDArray[np.float32], dist: npt.NDArray[np.float32]
) -> npt.NDArray[np.int8]:
    stacked = np.stack(_shifted(via))  # [4, O, H, W]
    step: npt.NDArray[np.int8] = np.argmin(stacked, axis=0).astype(np.int8)
    unreachable = ~np.isfinite(np.min(stacked, axis=0))
    step[unreachable | (dist == 0) | ~np.isfinite(dist)] = -1
    return step
