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
    static = cache.static
    # one flat index per window tile into the [T, H+2p, W+2p] padded grids (all in
    # range: the takes below use mode="wrap" only because it writes into out unbuffered)
    centre = frame.y * static.shape[2] + frame.x + cache.pad * (static.shape[2] + 1)
    if len(frame.worlds) > 1:
        centre += frame.town * (static.shape[1] * static.shape[2])
    flat = centre[:, None, None] + cache.window(size)
    target_tile: npt.NDArray[np.bool_] | None = None
    if "self" in channels or "reservations" in channels:
        # the window tile of each row's target object, if in view
        target_tile = flat == frame.of_town(cache.object_tiles, frame.tgt)[:, None, None]
        target_tile &= frame.has_target[:, None, None]
    counts: npt.NDArray[np.int64] | None = None
    if "agents" in channels or "local" in channels:
        # agents on each padded tile (the row's own tile counts itself)
        counts = np.bincount(centre[frame.alive], minlength=static.size)
    steps: npt.NDArray[np.int8] | None = None
    # gathers call the array method: np.take's dispatch wrapper costs as much as an
    # 8-row gather
    for ch, name in enumerate(channels):
        view = out[:, ch]
        if name == "self":
            assert target_tile is not None
            view[:] = 0.0
            view[target_tile] = 0.5
            view[:, r, r] = 1.0
        elif name == "objects":
            static.take(flat, out=view, mode="wrap")
        elif name == "agents":
            assert counts is not None
            view[:] = counts.take(flat)
            view[:, r, r] -= frame.alive
            np.minimum(view, 1.0, out=view)
        elif name == "reservations":
            res = np.zeros(static.size, dtype=np.float32)
            res[cache.object_tiles[frame.holder_row >= 0]] = 1.0
            res.take(flat, out=view, mode="wrap")
            assert target_tile is not None
            view[target_tile & frame.holds_target[:, None, None]] = 0.5
        elif name in ("path_dx", "path_dy"):
            if steps is None:
                steps = _path_steps(frame, flat)
            (_DX if name == "path_dx" else _DY).take(steps, out=view, mode="wrap")
        elif name == "local":
            assert counts is not None
            others = counts.take(flat)
            others[:, r, r] -= frame.alive
            cache.local_static.take(flat, out=view, mode="wrap")
            view[others > 0] = 1.0
        else:  # pragma: no cover - guarded by the params model
            raise ValueError(f"unknown map channel {name!r}")
    if frame.dead is not None:
        out[frame.dead] = 0.0


def _path_steps(frame: Frame, flat: npt.NDArray[np.int64]) -> npt.NDArray[np.int8]:
    """``[N, W, W]`` index ``d + 1`` of the first step toward each row's target
    from every window tile (0 where there is no target, no path or no map).

    ``flat`` indexes each row's window in the padded ``[T, H+2p, W+2p]`` grid;
    shifting it by the row's target plane indexes the padded step fields.
    """
    path_idx = frame.cache.path_idx
    t_count, n_obj, hp, wp = path_idx.shape
    # flat already holds town * hp * wp: add the planes before the row's town and target
    plane = frame.tgt if t_count == 1 else frame.town * (n_obj - 1) + frame.tgt
    shift = plane * (hp * wp)
    out: npt.NDArray[np.int8] = path_idx.take(flat + shift[:, None, None])
    out *= frame.has_target[:, None, None]
    return out
