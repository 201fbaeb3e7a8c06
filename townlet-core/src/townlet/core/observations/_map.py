"""Egocentric map windows, gathered for every agent at once.

Each agent sees a ``W × W`` window centred on itself (``W`` odd). Layers are
built once per call on a grid padded by the window radius, then every agent's
window is cut out with one fancy-indexing gather. Channels:

``self``
    1 at the centre; 0.5 on the agent's current target object when visible.
``agents``
    1 where another living agent stands.
``objects``
    -1 wall or off the map, 0 open ground, (k + 1) / 9 an object of type k
    (bed, fridge, stove, shower, wardrobe, till, desk, shelf, table).
``reservations``
    1 on an object reserved by another agent, 0.5 on the one the agent holds.
``path_dx``, ``path_dy``
    On every tile, the first step of the shortest path from that tile to the
    agent's current target (-1, 0 or 1); 0 where there is no target or path.
``local``
    (compact) one channel: -1 wall or off-map, 1 another agent, 0.5 object.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from townlet.core.observations._frame import Frame
from townlet.core.observations.spec import Feature

__all__ = ["CHANNELS", "fill_map", "map_features"]

CHANNELS: Final[dict[str, Feature]] = {
    "self": Feature("self", 0, 1, "1 at the centre (self); 0.5 on its target object."),
    "agents": Feature("agents", 0, 1, "1 where another living agent stands."),
    "objects": Feature("objects", -1, 1, "-1 wall/off-map, 0 open, (k+1)/9 object of type k."),
    "reservations": Feature(
        "reservations", 0, 1, "1 object reserved by another agent, 0.5 held by self."
    ),
    "path_dx": Feature("path_dx", -1, 1, "x of the first step toward its target from each tile."),
    "path_dy": Feature("path_dy", -1, 1, "y of the first step toward its target from each tile."),
    "local": Feature("local", -1, 1, "-1 wall/off-map, 1 another agent, 0.5 object, 0 open."),
}
_DX: Final = np.array([0, 0, 1, 0, -1], dtype=np.float32)
"""x step of direction ``d`` at index ``d + 1`` (-1: none, N, E, S, W)."""
_DY: Final = np.array([0, -1, 0, 1, 0], dtype=np.float32)


def map_features(channels: tuple[str, ...]) -> tuple[Feature, ...]:
    """The channel features, in order."""
    return tuple(CHANNELS[c] for c in channels)


def fill_map(frame: Frame, out: npt.NDArray[np.float32], channels: tuple[str, ...]) -> None:
    """Write every row's ``[C, W, W]`` window into ``out`` (``[N, C, W, W]``)."""
    cache = frame.cache
    size = out.shape[-1]
    r = size // 2
    p = cache.pad
    n = frame.n
    town = frame.town
    span = np.arange(size, dtype=np.int64)
    alive = frame.alive
    static = cache.static
    _, hp, wp = static.shape
    # one flat index per window tile into the [T, H+2p, W+2p] padded grids
    corner = (town * hp + frame.y + (p - r)) * wp + frame.x + (p - r)
    flat = corner[:, None, None] + (span * wp)[None, :, None] + span[None, None, :]
    object_xy = frame.worlds[0].town.object_xy
    rows = np.arange(n)
    held_by_me = frame.has_target & (frame.holder_row[town, frame.tgt] == rows)
    ox = object_xy[frame.tgt, 0].astype(np.int64) - frame.x + r
    oy = object_xy[frame.tgt, 1].astype(np.int64) - frame.y + r
    visible = frame.has_target & (ox >= 0) & (ox < size) & (oy >= 0) & (oy < size)
    occ: npt.NDArray[np.float32] | None = None
    steps: npt.NDArray[np.int8] | None = None
    if "agents" in channels or "local" in channels:
        occ = np.zeros(static.shape, dtype=np.float32)
        live = np.flatnonzero(alive)
        np.add.at(occ, (town[live], frame.y[live] + p, frame.x[live] + p), 1.0)
    for ch, name in enumerate(channels):
        view = out[:, ch]
        if name == "self":
            view[:] = 0.0
            sel = np.flatnonzero(visible)
            view[sel, oy[sel], ox[sel]] = 0.5
            view[:, r, r] = 1.0
        elif name == "objects":
            view[:] = static.take(flat)
        elif name == "agents":
            assert occ is not None
            view[:] = occ.take(flat)
            view[:, r, r] -= alive
            np.minimum(view, 1.0, out=view)
        elif name == "reservations":
            res = np.zeros(static.shape, dtype=np.float32)
            held_t, held_o = np.nonzero(frame.holder_row >= 0)
            res[held_t, object_xy[held_o, 1] + p, object_xy[held_o, 0] + p] = 1.0
            view[:] = res.take(flat)
            sel = np.flatnonzero(visible & held_by_me)
            view[sel, oy[sel], ox[sel]] = 0.5
        elif name in ("path_dx", "path_dy"):
            if steps is None:
                steps = _path_steps(frame, flat, hp, wp)
            view[:] = (_DX if name == "path_dx" else _DY)[steps]
        elif name == "local":
            assert occ is not None
            others = occ.take(flat)
            others[:, r, r] -= alive
            layer = static.take(flat)
            layer[layer > 0] = 0.5
            layer[others > 0] = 1.0
            view[:] = layer
        else:  # pragma: no cover - guarded by the params model
            raise ValueError(f"unknown map channel {name!r}")
    dead = ~alive
    if dead.any():
        out[dead] = 0.0


def _path_steps(
    frame: Frame, flat: npt.NDArray[np.int64], hp: int, wp: int
) -> npt.NDArray[np.int8]:
    """``[N, W, W]`` index ``d + 1`` of the first step toward each row's target
    from every window tile (0 where there is no target, no path or no map).

    ``flat`` indexes each row's window in the padded ``[T, H+2p, W+2p]`` grid;
    shifting it by the row's target plane indexes the padded step fields.
    """
    n_obj = frame.cache.path_idx.shape[1]
    shift = (frame.town * (n_obj - 1) + frame.tgt) * (hp * wp)
    out: npt.NDArray[np.int8] = frame.cache.path_idx.take(flat + shift[:, None, None])
    out *= frame.has_target[:, None, None]
    return out
