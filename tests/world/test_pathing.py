"""Path fields: walls block, doors pass, weather weights outdoor tiles."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from townlet.core.world.pathing import DIRECTIONS, PathFields
from townlet.core.world.townmap import load_town


def tiny_town(tmp_path: Path, layout: str) -> Path:
    doc = {
        "legend": {"#": "wall", ".": "floor", "+": "door", "=": "road"},
        "layout": layout,
        "places": {"p": {"kind": "home", "area": [0, 0, 1, 1]}},
        "objects": [{"id": "bed", "type": "bed", "at": [1, 1], "place": "p"}],
        "spawn_points": [[1, 1]],
    }
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def bfs(walk: np.ndarray, target: tuple[int, int]) -> np.ndarray:
    h, w = walk.shape
    dist = np.full((h, w), np.inf)
    dist[target[1], target[0]] = 0
    queue = deque([target])
    while queue:
        x, y = queue.popleft()
        for dx, dy in DIRECTIONS:
            nx, ny = x + dx, y + dy
            if 0 <= nx < w and 0 <= ny < h and walk[ny, nx] and dist[ny, nx] == np.inf:
                dist[ny, nx] = dist[y, x] + 1
                queue.append((nx, ny))
    return dist


def test_walls_block_and_doors_pass(tmp_path: Path) -> None:
    town = load_town(tiny_town(tmp_path, "#####\n#.#.#\n#.+.#\n#####\n"))
    fields = PathFields(town)
    assert fields.dist[0, 1, 3] == 4  # around the wall, through the door
    assert fields.step[0, 1, 3] == 2  # first step south
    assert fields.dist[0, 0, 0] == np.inf


@settings(max_examples=25, deadline=None)
@given(st.lists(st.booleans(), min_size=64, max_size=64))
def test_indoor_fields_equal_bfs(tmp_path_factory, walls: list[bool]) -> None:
    grid = np.array(walls, dtype=bool).reshape(8, 8)
    grid[1, 1] = False
    layout = "\n".join("".join("#" if c else "." for c in row) for row in grid) + "\n"
    town = load_town(tiny_town(tmp_path_factory.mktemp("t"), layout))
    fields = PathFields(town)
    expected = bfs(town.walkable, (1, 1))
    reachable = np.isfinite(expected)
    assert np.array_equal(np.isfinite(fields.dist[0]), reachable)
    assert np.allclose(fields.dist[0][reachable], expected[reachable])
    ys, xs = np.nonzero(reachable & (expected > 0))
    for y, x in zip(ys, xs, strict=True):  # following a step always gets one closer
        dx, dy = DIRECTIONS[fields.step[0, y, x]]
        assert expected[y + dy, x + dx] == expected[y, x] - 1


def test_weather_weights_outdoor_tiles(tmp_path: Path) -> None:
    town = load_town(tiny_town(tmp_path, "#######\n#.===.#\n#######\n"))
    fields = PathFields(town)
    assert fields.dist[0, 1, 5] == 4
    fields.set_outdoor_cost(1.5)
    assert fields.dist[0, 1, 5] == 3 * 1.5 + 1
    closed = np.zeros(town.shape, dtype=bool)
    closed[1, 3] = True
    fields.set_closed(closed)
    assert fields.dist[0, 1, 5] == np.inf


def test_fields_are_shared_by_map_weight_and_closures(tmp_path: Path) -> None:
    town = load_town(tiny_town(tmp_path, "#####\n#...#\n#...#\n#####\n"))
    a, b = PathFields(town), PathFields(town)
    assert a.dist is b.dist and not a.dist.flags.writeable
    b.set_outdoor_cost(3.0)
    assert b.dist is not a.dist
    closed = np.zeros(town.shape, dtype=bool)
    closed[2, 3] = True
    a.set_closed(closed)
    c = PathFields(town)
    assert c.dist is not a.dist  # fresh fields have no closures
    c.set_closed(closed)
    assert c.dist is a.dist
    assert np.isinf(a.dist[0, 2, 3])
