"""Landmark bearings and distances, tabulated once per set of path fields.

The bundle's landmark block gives, for each landmark object, the unit bearing
from the agent's tile and the squashed path cost to it. Both depend only on
the tile, the object and the path fields, and fields change only with the
weather or closures (and are shared by every town with the same), so each
field set is tabulated once as ``[P, H, W, 3]`` (dx, dy, squashed cost) over
*planes* ``P``: one per object, then one per :data:`NEAREST` type (on each
tile, the values of the nearest object of that type) and, last, the *none*
plane (0, 0, 1), which index -1 selects. A tick's landmark block is then one
gather.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.ports import TownMapView

__all__ = ["DIST_SCALE", "NEAREST", "gather_landmarks", "landmark_table", "squash"]

DIST_SCALE: Final = 20.0
"""Distances ``d`` are squashed to ``d / (d + DIST_SCALE)`` in [0, 1)."""
_FAR: Final = 1e30

NEAREST: Final = ("shower", "till")
"""Object types whose nearest object (by path cost) has a plane of its own,
at ``O + k`` for the ``k``-th type."""
_TABLES: OrderedDict[tuple[int, bytes], tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]
_TABLES = OrderedDict()
"""(field identity, nearest candidates) → (field, table), least recently used first.
The field is kept so that its identity stays unique while its table is cached."""
_TABLES_MAX: Final = 8


def squash(d: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    """Map path costs in [0, inf] to [0, 1]; unreachable (inf) becomes 1."""
    m = np.minimum(d, np.float32(_FAR))  # far / (far + scale) rounds to exactly 1 in float32
    out: npt.NDArray[np.float32] = (m / (m + np.float32(DIST_SCALE))).astype(np.float32, copy=False)
    return out


def landmark_table(town: TownMapView, dist: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``[O + len(NEAREST) + 1, H, W, 3]`` table of ``dist`` (the module docstring), cached."""
    cands = [town.objects_of_type(t) for t in NEAREST]
    key = (id(dist), b"|".join(c.tobytes() for c in cands))
    hit = _TABLES.get(key)
    if hit is not None:
        _TABLES.move_to_end(key)
        return hit[1]
    table = _tabulate(town.object_xy, dist, cands)
    table.flags.writeable = False
    _TABLES[key] = (dist, table)
    if len(_TABLES) > _TABLES_MAX:
        _TABLES.popitem(last=False)
    return table


def gather_landmarks(
    tables: Sequence[npt.NDArray[np.float32]],
    town: npt.NDArray[np.int64],
    planes: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    x: npt.NDArray[np.int64],
) -> npt.NDArray[np.float32]:
    """``[N, L, 3]`` values of ``planes`` (``[N, L]``, -1: none) at each row's tile,
    from the table of the row's town (``tables[t]``, one per town)."""
    first = tables[0]
    if all(t is first for t in tables):  # towns with one weather share their table
        out: npt.NDArray[np.float32] = first[planes, y[:, None], x[:, None]]
        return out
    out = np.empty((*planes.shape, 3), dtype=np.float32)
    for table in {id(t): t for t in tables}.values():
        mine = [t for t, other in enumerate(tables) if other is table]
        rows = np.flatnonzero(np.isin(town, mine))
        out[rows] = table[planes[rows], y[rows, None], x[rows, None]]
    return out


def _tabulate(
    object_xy: npt.NDArray[np.int16],
    dist: npt.NDArray[np.float32],
    cands: list[npt.NDArray[np.int64]],
) -> npt.NDArray[np.float32]:
    n_obj, h, w = dist.shape
    yy = np.arange(h, dtype=np.int64)[:, None]
    xx = np.arange(w, dtype=np.int64)[None, :]
    # the landmark object of every plane and tile (-1: none)
    objs = np.empty((n_obj + len(cands) + 1, h, w), dtype=np.int64)
    objs[:n_obj] = np.arange(n_obj)[:, None, None]
    for k, c in enumerate(cands):
        # ties go to the first candidate, as argmin does
        objs[n_obj + k] = c[np.argmin(dist[c], axis=0)] if c.size else -1
    objs[-1] = -1
    exists = objs >= 0
    safe = np.maximum(objs, 0)
    d = dist[safe, yy, xx]
    oxy = object_xy[safe]
    dx = (oxy[..., 0] - xx) * exists
    dy = (oxy[..., 1] - yy) * exists
    inv = 1.0 / np.maximum(np.sqrt(dx * dx + dy * dy), 1e-9)
    table = np.empty((*objs.shape, 3), dtype=np.float32)
    table[..., 0] = dx * inv
    table[..., 1] = dy * inv
    table[..., 2] = np.where(exists, squash(d), 1.0)
    return table
