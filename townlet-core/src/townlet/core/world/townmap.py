"""The town map: tiles, places and objects, loaded from YAML and validated.

A town file holds an ASCII ``layout`` (one character per tile, rows top to
bottom), a ``legend`` from characters to tile kinds, named ``places`` (a kind
and an inclusive ``area: [x0, y0, x1, y1]``), ``objects`` (``id``, ``type``,
``at: [x, y]``, ``place``) and roadside ``spawn_points``. Coordinates are
``(x, y)`` with the origin top-left.

Validation errors name the file and the coordinate: objects inside walls or
outside the map, two objects on one tile, objects no spawn point can reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core._yaml import compose_config, construct_document
from townlet.core.columns import OBJECT_TYPES
from townlet.core.errors import ConfigError
from townlet.core.world.filecache import ParsedFiles

__all__ = ["OBJECT_TYPES", "TILE_KINDS", "TownMap", "load_town"]

TILE_KINDS: Final = ("wall", "floor", "door", "road", "grass", "counter", "table", "queue")
"""Tile kinds; only ``wall`` blocks movement."""
OUTDOOR_KINDS: Final = frozenset({"road", "grass"})
PLACE_KINDS: Final = ("home", "grocer", "cafe", "office", "park", "gym")


@dataclass(frozen=True)
class TownMap:
    """Static geometry of a town. Object ``i`` sits at ``object_xy[i]``."""

    name: str
    path: Path
    tiles: npt.NDArray[np.int8]
    """``[H, W]`` indices into :data:`TILE_KINDS`."""
    places: dict[str, tuple[str, tuple[int, int, int, int]]]
    """place id → (kind, (x0, y0, x1, y1))."""
    object_ids: tuple[str, ...]
    object_types: tuple[str, ...]
    object_places: tuple[str, ...]
    object_xy: npt.NDArray[np.int16]
    spawn_points: npt.NDArray[np.int16]

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``."""
        return (int(self.tiles.shape[0]), int(self.tiles.shape[1]))

    @cached_property
    def walkable(self) -> npt.NDArray[np.bool_]:
        """``[H, W]`` mask of tiles agents may stand on (read-only)."""
        walkable: npt.NDArray[np.bool_] = self.tiles != TILE_KINDS.index("wall")
        walkable.flags.writeable = False
        return walkable

    @cached_property
    def outdoor(self) -> npt.NDArray[np.bool_]:
        """``[H, W]`` mask of tiles exposed to the weather (read-only)."""
        outdoor = np.isin(self.tiles, [TILE_KINDS.index(k) for k in OUTDOOR_KINDS])
        outdoor.flags.writeable = False
        return outdoor

    def objects_of_type(self, object_type: str) -> npt.NDArray[np.int64]:
        """Indices of the objects of one type."""
        return np.flatnonzero(np.asarray(self.object_types) == object_type)

    def objects_in_place(self, place: str) -> npt.NDArray[np.int64]:
        """Indices of the objects in one place."""
        return np.flatnonzero(np.asarray(self.object_places) == place)

    def place_of_kind(self, kind: str) -> list[str]:
        """Place ids of one kind, in file order."""
        return [pid for pid, (k, _) in self.places.items() if k == kind]


def load_town(path: Path) -> TownMap:
    """Load and validate a town file; raise :class:`ConfigError` naming file and tile."""
    return _PARSED.load(path)


def _parse(path: Path, raw: bytes) -> TownMap:
    doc = construct_document(compose_config(raw.decode("utf-8"), path), path)
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: a town file must be a mapping")
    return _build(path, doc)


_PARSED: ParsedFiles[TownMap] = ParsedFiles(_parse, "town")


def _fail(path: Path, message: str) -> ConfigError:
    return ConfigError(f"{path}: {message}")


def _build(path: Path, doc: dict[str, Any]) -> TownMap:
    unknown = set(doc) - {"name", "legend", "layout", "places", "objects", "spawn_points"}
    if unknown:
        raise _fail(path, f"unknown keys {sorted(unknown)}")
    legend = doc.get("legend")
    if not isinstance(legend, dict) or not legend:
        raise _fail(path, "legend: expected a mapping of characters to tile kinds")
    for ch, kind in legend.items():
        if not isinstance(ch, str) or len(ch) != 1:
            raise _fail(path, f"legend: keys must be single characters (got {ch!r})")
        if kind not in TILE_KINDS:
            raise _fail(path, f"legend.{ch!r}: unknown tile kind {kind!r}; kinds: {TILE_KINDS}")
    layout = doc.get("layout")
    if not isinstance(layout, str):
        raise _fail(path, "layout: expected a block of text")
    rows = layout.rstrip("\n").split("\n")
    width = len(rows[0])
    tiles = np.zeros((len(rows), width), dtype=np.int8)
    for y, row in enumerate(rows):
        if len(row) != width:
            raise _fail(path, f"layout row {y} has {len(row)} tiles, expected {width}")
        for x, ch in enumerate(row):
            if ch not in legend:
                raise _fail(path, f"layout ({x}, {y}): character {ch!r} is not in the legend")
            tiles[y, x] = TILE_KINDS.index(legend[ch])
    height = len(rows)

    def xy(value: Any, where: str) -> tuple[int, int]:
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) for v in value)
        ):
            raise _fail(path, f"{where}: expected [x, y] integers (got {value!r})")
        x, y = value
        if not (0 <= x < width and 0 <= y < height):
            raise _fail(path, f"{where}: ({x}, {y}) is outside the {width}x{height} map")
        return x, y

    places: dict[str, tuple[str, tuple[int, int, int, int]]] = {}
    for pid, spec in (doc.get("places") or {}).items():
        if not isinstance(spec, dict) or spec.get("kind") not in PLACE_KINDS:
            raise _fail(path, f"places.{pid}: kind must be one of {PLACE_KINDS}")
        area = spec.get("area")
        if not isinstance(area, list) or len(area) != 4:
            raise _fail(path, f"places.{pid}.area: expected [x0, y0, x1, y1] (got {area!r})")
        x0, y0 = xy(area[:2], f"places.{pid}.area")
        x1, y1 = xy(area[2:], f"places.{pid}.area")
        places[str(pid)] = (spec["kind"], (x0, y0, x1, y1))

    ids: list[str] = []
    types: list[str] = []
    obj_places: list[str] = []
    coords: list[tuple[int, int]] = []
    taken: dict[tuple[int, int], str] = {}
    for i, spec in enumerate(doc.get("objects") or []):
        where = f"objects[{i}]"
        if not isinstance(spec, dict) or set(spec) - {"id", "type", "at", "place"}:
            raise _fail(path, f"{where}: expected keys id, type, at, place")
        oid = spec.get("id")
        if not isinstance(oid, str) or oid in ids:
            raise _fail(path, f"{where}: id must be a unique string (got {oid!r})")
        if spec.get("type") not in OBJECT_TYPES:
            raise _fail(
                path,
                f"{where} ({oid}): unknown object type {spec.get('type')!r}; "
                f"types: {', '.join(OBJECT_TYPES)}",
            )
        x, y = xy(spec.get("at"), f"{where} ({oid}).at")
        if tiles[y, x] == TILE_KINDS.index("wall"):
            raise _fail(path, f"object {oid!r} at ({x}, {y}) is inside a wall")
        if (x, y) in taken:
            raise _fail(path, f"objects {taken[(x, y)]!r} and {oid!r} overlap at ({x}, {y})")
        place = spec.get("place")
        if place not in places:
            raise _fail(path, f"object {oid!r}: unknown place {place!r}")
        taken[(x, y)] = oid
        ids.append(oid)
        types.append(spec["type"])
        obj_places.append(place)
        coords.append((x, y))

    spawns = [xy(p, f"spawn_points[{i}]") for i, p in enumerate(doc.get("spawn_points") or [])]
    if not spawns:
        raise _fail(path, "spawn_points: at least one roadside spawn point is required")
    for x, y in spawns:
        if tiles[y, x] == TILE_KINDS.index("wall"):
            raise _fail(path, f"spawn point ({x}, {y}) is inside a wall")

    town = TownMap(
        name=str(doc.get("name") or path.stem),
        path=path,
        tiles=tiles,
        places=places,
        object_ids=tuple(ids),
        object_types=tuple(types),
        object_places=tuple(obj_places),
        object_xy=np.array(coords, dtype=np.int16).reshape(-1, 2),
        spawn_points=np.array(spawns, dtype=np.int16),
    )
    _check_reachable(town)
    for arr in (town.tiles, town.object_xy, town.spawn_points):
        arr.flags.writeable = False  # shared by every world built from this file
    return town


def _check_reachable(town: TownMap) -> None:
    """Every object and spawn point must be reachable from the first spawn point."""
    walk = town.walkable
    seen = np.zeros_like(walk)
    x, y = (int(v) for v in town.spawn_points[0])
    seen[y, x] = True
    frontier = seen.copy()
    while frontier.any():
        grown = np.zeros_like(frontier)
        grown[1:, :] |= frontier[:-1, :]
        grown[:-1, :] |= frontier[1:, :]
        grown[:, 1:] |= frontier[:, :-1]
        grown[:, :-1] |= frontier[:, 1:]
        frontier = grown & walk & ~seen
        seen |= frontier
    for oid, (ox, oy) in zip(town.object_ids, town.object_xy, strict=True):
        if not seen[oy, ox]:
            raise ConfigError(f"{town.path}: object {oid!r} at ({ox}, {oy}) is unreachable")
    for sx, sy in town.spawn_points:
        if not seen[sy, sx]:
            raise ConfigError(f"{town.path}: spawn point ({sx}, {sy}) is unreachable")
