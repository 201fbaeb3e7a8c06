"""Town maps: the default town loads; bad maps are refused with file and tile."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from townlet.core.config import resolve_source
from townlet.core.errors import ConfigError
from townlet.core.world.townmap import load_town

DEFAULT = resolve_source("builtin:default").parent.parent / "towns" / "default.yaml"

TINY = {
    "name": "tiny",
    "legend": {"#": "wall", ".": "floor", "+": "door", "=": "road"},
    "layout": "#######\n#..#..#\n#..+..#\n#######\n=======\n",
    "places": {"home": {"kind": "home", "area": [0, 0, 6, 3]}},
    "objects": [{"id": "bed", "type": "bed", "at": [1, 1], "place": "home"}],
    "spawn_points": [[0, 4]],
}


def write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "town.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_default_town() -> None:
    town = load_town(DEFAULT)
    assert town.shape == (48, 48)
    kinds = {kind for kind, _ in town.places.values()}
    assert kinds == {"home", "grocer", "cafe", "office", "park", "gym"}
    assert len(town.objects_of_type("shower")) == 2
    assert len(town.objects_of_type("bed")) == 8


def test_unreachable_object_names_file_and_tile(tmp_path: Path) -> None:
    doc = dict(TINY, layout="#######\n#..#..#\n#..#..#\n#######\n=======\n")
    with pytest.raises(ConfigError, match=r"town\.yaml: object 'bed' at \(1, 1\) is unreachable"):
        load_town(write(tmp_path, doc))


def test_object_in_wall(tmp_path: Path) -> None:
    doc = dict(TINY, objects=[{"id": "bed", "type": "bed", "at": [3, 1], "place": "home"}])
    with pytest.raises(ConfigError, match=r"object 'bed' at \(3, 1\) is inside a wall"):
        load_town(write(tmp_path, doc))


def test_overlapping_objects(tmp_path: Path) -> None:
    objs = [*TINY["objects"], {"id": "bed2", "type": "bed", "at": [1, 1], "place": "home"}]
    with pytest.raises(ConfigError, match=r"objects 'bed' and 'bed2' overlap at \(1, 1\)"):
        load_town(write(tmp_path, dict(TINY, objects=objs)))


def test_unknown_object_type(tmp_path: Path) -> None:
    objs = [{"id": "x", "type": "jacuzzi", "at": [1, 1], "place": "home"}]
    with pytest.raises(ConfigError, match=r"objects\[0\] \(x\): unknown object type 'jacuzzi'"):
        load_town(write(tmp_path, dict(TINY, objects=objs)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"layout": "####\n#..\n"}, r"layout row 1 has 3 tiles, expected 4"),
        ({"layout": "#?#\n"}, r"layout \(1, 0\): character '\?' is not in the legend"),
        ({"legend": {"#": "lava"}}, r"unknown tile kind 'lava'"),
        ({"spawn_points": []}, r"at least one roadside spawn point"),
        ({"spawn_points": [[99, 0]]}, r"\(99, 0\) is outside the 7x5 map"),
        ({"colour": "red"}, r"unknown keys \['colour'\]"),
    ],
)
def test_malformed_maps(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        load_town(write(tmp_path, dict(TINY, **change)))
    assert str(tmp_path / "town.yaml") in str(err.value)


OPEN = {
    **TINY,
    "name": "open",
    "layout": "#####\n#...#\n#...#\n#####\n",
    "places": {"home": {"kind": "home", "area": [0, 0, 4, 3]}},
    "spawn_points": [[2, 2]],
}


def test_unchanged_file_is_parsed_once_and_shared_read_only(tmp_path: Path) -> None:
    path = write(tmp_path, OPEN)
    first = load_town(path)
    assert load_town(path) is first
    with pytest.raises(ValueError, match="read-only"):
        first.object_xy[0, 0] = 3


def test_edited_file_is_parsed_again(tmp_path: Path) -> None:
    path = write(tmp_path, OPEN)
    first = load_town(path)
    path.write_text(yaml.safe_dump({**OPEN, "name": "open2"}))
    second = load_town(path)
    assert second is not first and second.name == "open2"


def test_a_broken_file_is_refused_every_time(tmp_path: Path) -> None:
    path = tmp_path / "town.yaml"
    path.write_text("legend: [unclosed")
    for _ in range(2):  # errors are never cached as results
        with pytest.raises(ConfigError, match="invalid YAML"):
            load_town(path)
    path.write_text(yaml.safe_dump(OPEN))
    assert load_town(path).name == "open"
