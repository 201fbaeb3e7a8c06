"""An RGB picture of a town: tiles, objects, reservations and agents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from townlet.core.world.townmap import OBJECT_TYPES, TILE_KINDS

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["render_rgb"]

_TILES: Final = {
    "wall": (60, 60, 70),
    "floor": (225, 215, 195),
    "door": (170, 120, 70),
    "road": (150, 150, 150),
    "grass": (140, 190, 110),
    "counter": (190, 160, 120),
    "table": (180, 140, 100),
    "queue": (210, 200, 160),
}
_OBJECTS: Final = {
    "bed": (90, 110, 200),
    "fridge": (200, 230, 240),
    "stove": (200, 80, 60),
    "shower": (80, 180, 220),
    "wardrobe": (130, 90, 60),
    "till": (230, 190, 40),
    "desk": (110, 80, 50),
    "shelf": (160, 120, 80),
    "table": (180, 140, 100),
}


_AGENTS: Final = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
)
"""Agent colours, cycled by slot."""


def render_rgb(world: World, scale: int = 8) -> npt.NDArray[np.uint8]:
    """``[H·scale, W·scale, 3]`` uint8 image of ``world`` (agents as filled squares)."""
    town = world.town
    palette = np.array([_TILES[k] for k in TILE_KINDS], dtype=np.uint8)
    image = palette[town.tiles.astype(np.int64)]
    closed = town.walkable & ~world.walkable
    image[closed] = (90, 40, 40)
    for o, kind in enumerate(town.object_types):
        x, y = int(town.object_xy[o, 0]), int(town.object_xy[o, 1])
        colour = _OBJECTS.get(kind, (0, 0, 0)) if kind in OBJECT_TYPES else (0, 0, 0)
        image[y, x] = colour
    big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    held = np.flatnonzero(world.objects.holder >= 0)
    for h in held:
        x, y = int(town.object_xy[h, 0]) * scale, int(town.object_xy[h, 1]) * scale
        big[y : y + scale, x : x + 1] = (255, 255, 255)
        big[y : y + 1, x : x + scale] = (255, 255, 255)
    a = world.agents
    inset = max(1, scale // 4)
    for k in np.flatnonzero(a.alive):
        x, y = int(a.xy[k, 0]) * scale, int(a.xy[k, 1]) * scale
        big[y + inset - 1 : y + scale - inset + 1, x + inset - 1 : x + scale - inset + 1] = 20
        colour = _AGENTS[int(k) % len(_AGENTS)]
        big[y + inset : y + scale - inset, x + inset : x + scale - inset] = colour
    return np.ascontiguousarray(big)
