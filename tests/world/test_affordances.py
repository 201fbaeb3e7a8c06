"""Affordance manifests: validation with file and line, hot reload, effects."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_world
from townlet.core.errors import ConfigError
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.affordances import load_affordances

GOOD = """affordances:
  - id: nap
    object_type: bed
    duration: 10
    effects: {energy: 0.5}
  - id: soak
    object_type: shower
    duration: 20
    preconds: "water_on and agent.money >= 0.1"
    effects: {hygiene: 0.4, money: -0.1}
"""


def write(tmp_path: Path, text: str, name: str = "aff.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_compiles_effects(tmp_path: Path) -> None:
    aset = load_affordances(write(tmp_path, GOOD))
    assert aset.ids == ("nap", "soak")
    assert aset.need_per_tick[0].tolist() == pytest.approx([0.0, 0.0, 0.05])
    assert aset.money.tolist() == [0, -100]
    assert aset.needs_water.tolist() == [False, True]
    assert len(aset.checksum) == 64


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "  - {id: a, object_type: bed, duration: 5, preconds: 'agent.money >'}",
            r"aff\.yaml:3: affordance 'a': preconds 'agent.money >': unexpected end",
        ),
        (
            "  - {id: a, object_type: hottub, duration: 5}",
            r"aff\.yaml:3: affordance 'a': object_type",
        ),
        (
            "  - {id: a, object_type: bed, duration: -5}",
            r"aff\.yaml:3: affordance 'a': duration: Input should be greater than 0 \(got -5\)",
        ),
        (
            "  - {id: a, object_type: bed, duration: 5, effects: {mood: 1}}",
            r"aff\.yaml:3: affordance 'a': effects\.mood",
        ),
        (
            "  - {id: a, object_type: bed, duration: 5, preconds: 'agent.karma > 1'}",
            r"unknown name 'agent.karma'",
        ),
        (
            "  - {id: nap, object_type: bed, duration: 5}",
            r"aff\.yaml:3: affordance id 'nap' is declared twice",
        ),
    ],
)
def test_bad_entries_name_file_and_line(tmp_path: Path, entry: str, message: str) -> None:
    text = "affordances:\n  - {id: nap, object_type: bed, duration: 5}\n" + entry + "\n"
    with pytest.raises(ConfigError, match=message):
        load_affordances(write(tmp_path, text))


def test_not_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="a mapping with an 'affordances' list"):
        load_affordances(write(tmp_path, "- 1\n"))
    with pytest.raises(ConfigError, match=r"aff\.yaml:\d+: invalid YAML"):
        load_affordances(write(tmp_path, "affordances: [\n"))


def test_hot_reload_swaps_atomically_or_keeps_the_old(tmp_path: Path) -> None:
    world = make_world()
    old = world.affordances
    bad = write(tmp_path, "affordances:\n  - {id: shower, object_type: shower, duration: 0}\n")
    with pytest.raises(ConfigError, match="duration"):
        world.reload_affordances(bad)
    assert world.affordances is old
    text = world.settings.affordances.read_text().replace("duration: 30", "duration: 25")
    checksum = world.reload_affordances(write(tmp_path, text, "new.yaml"))
    assert checksum != old.checksum
    assert world.affordances.duration[world.affordances.index("shower")] == 25


def test_reload_drops_affordances_that_vanished(tmp_path: Path) -> None:
    world = make_world()
    sleep = world.affordances.index("sleep")
    policy = ScriptedPolicy(ScriptedPolicyParams())
    while not (world.agents.aff == sleep).any():
        world.step(policy.act(world))
    sleeper = int((world.agents.aff == sleep).nonzero()[0][0])
    text = world.settings.affordances.read_text().replace("id: sleep", "id: doze")
    world.reload_affordances(write(tmp_path, text, "renamed.yaml"))
    assert world.agents.aff[sleeper] == -1
    assert world.objects.holder[world.agents.bed[sleeper]] == -1
