"""Queue conflicts and rivalry in a three-citizen, one-shower town."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.helpers import default_config, make_world, run_scripted
from townlet.core import hookimpl
from townlet.core.config import resolve_source
from townlet.core.hooks import make_plugin_manager
from townlet.core.world.social import conflict
from townlet.core.world.world import World


@pytest.fixture
def one_shower_town(tmp_path: Path) -> Path:
    town = resolve_source("builtin:default").parent.parent / "towns" / "default.yaml"
    doc = yaml.safe_load(town.read_text())
    doc["objects"] = [o for o in doc["objects"] if o["id"] != "gym.shower_2"]
    path = tmp_path / "one_shower.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def peak_rivalry(world: World) -> float:
    rel = world.relations
    return float(np.where(rel.other >= 0, rel.rivalry, 0.0).max())


def test_one_shower_breeds_rivalry_that_fades_apart(one_shower_town: Path) -> None:
    world = make_world(
        "world.agents=3", f"world.town={one_shower_town}", "features.stages.relationships=A"
    )

    def everyone_needs_a_shower(w: World) -> None:
        if w.tick % 200 == 0:
            w.agents.needs[:, 1] = 0.35

    run_scripted(world, 2000, everyone_needs_a_shower)
    conflicts = world.social.conflicts
    assert sum(conflicts.values()) >= 10
    assert conflicts["blocked"] > 0
    peak = peak_rivalry(world)
    assert peak >= 0.3
    # separated: everyone stays where they are for a day
    wait = np.zeros(world.n_agents, dtype=np.int64)
    before = sum(conflicts.values())
    for _ in range(world.clock.ticks_per_day):
        world.step(wait)
    assert sum(world.social.conflicts.values()) - before <= 3
    after = peak_rivalry(world)
    assert 0.0 < after <= 0.65 * peak  # 2%/hour for 24 hours is x0.62


def test_conflict_event_hook_and_intensity_grows_with_the_queue() -> None:
    seen = []

    class Listener:
        @hookimpl
        def on_conflict(self, world, tick, kind, agent_id, other_id, intensity):
            seen.append((kind, agent_id, other_id, intensity))

    pm, _ = make_plugin_manager(load_entry_points=False)
    pm.register(Listener())
    world = World.from_config(default_config("features.stages.relationships=A"), hooks=pm.hook)
    shower = int(world.town.objects_of_type("shower")[0])
    conflict(world, "cut_in", 0, 1, shower)
    world.agents.queue_obj[2:6] = shower
    conflict(world, "cut_in", 0, 1, shower)
    (k1, a1, o1, i1), (_, _, _, i2) = seen
    assert (k1, a1, o1) == ("cut_in", "agent_000", "agent_001")
    assert i1 == pytest.approx(1.0)
    assert i2 == pytest.approx(1.0 * (1 + 0.25 * 4))
    assert world.relations.tie(0, 1) == pytest.approx((0.0, -0.10, 0.30))
    assert world.social.conflicts_today == 2
    assert [e["type"] for e in world.events if e["kind"] == "conflict"] == ["cut_in", "cut_in"]


def test_stage_off_keeps_the_ledger_empty_but_counts_conflicts() -> None:
    world = make_world()
    conflict(world, "blocked", 0, 1)
    assert world.social.conflicts["blocked"] == 1
    assert (world.relations.other == -1).all()
    assert world.observe()["relationships"] == {}


def test_public_argument_costs_both_time() -> None:
    world = make_world("features.stages.relationships=C")
    world.relations.update(0, 1, 0.0, 0.0, 0.9)
    conflict(world, "rival_collision", 0, 1, 0)
    assert world.social.arguments == 1
    stall = world.settings.social.argue_ticks
    assert (world.agents.stall_until[[0, 1]] == world.tick + stall).all()
    assert any(line["category"] == "argument" for line in world.narrator.lines)


def test_stage_c_avoids_a_rival_s_queue() -> None:
    from townlet.core.world.options import Option

    world = make_world("features.stages.relationships=C")
    showers = world.town.objects_of_type("shower")
    world.relations.update(0, 1, 0.0, 0.0, 0.9)
    world.agents.queue_obj[1] = showers[0]
    world.agents.target[1] = showers[0]
    world.objects.holder[showers[0]] = 1
    world.agents.option[0] = Option.GET_CLEAN
    from townlet.core.world.options import plan

    plan(world, 0)
    assert world.agents.target[0] == showers[1]
