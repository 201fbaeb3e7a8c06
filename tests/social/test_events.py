"""Narration throttles, the perturbation scheduler and the social acceptance run."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import default_config, make_world, run_scripted
from townlet.core.world.invariants import violations
from townlet.core.world.narration import Narrator
from townlet.core.world.perturbations import KINDS
from townlet.core.world.settings import NarrationConfig
from townlet.core.world.world import World


def test_narration_global_category_and_dedupe_throttles() -> None:
    n = Narrator(NarrationConfig(max_per_hour=3, category_cooldown=10, dedupe_window=50), 40)
    assert n.say(0, "new_arrival", ["Ada"], ["a0"])
    assert not n.say(5, "new_arrival", ["Bo"], ["a1"])  # category cooldown
    assert n.say(11, "new_arrival", ["Bo"], ["a1"])
    assert not n.say(30, "new_arrival", ["Ada"], ["a0"])  # same line within the window
    assert n.say(31, "blackout", [], [])
    assert not n.say(35, "left_town", ["Cleo"], ["a2"], reason="collapse")  # 3 this hour
    assert n.say(41, "left_town", ["Cleo"], ["a2"], reason="collapse")  # next hour
    assert n.said == 4 and n.dropped == 3


@pytest.mark.parametrize("kind", KINDS)
def test_trigger_and_cancel_each_perturbation(kind: str) -> None:
    world = make_world("features.stages.relationships=C")
    if kind == "arranged_meet":
        world.relations.update(2, 5, 0.0, 0.0, 0.8)
    pid = world.perturbations.trigger(world, kind, duration=40)
    assert pid is not None
    if kind == "price_spike":
        item = world.perturbations.active[0].params["item"]
        assert world.economy.price_multiplier[["raw_food", "meal"].index(item)] >= 1.5
    elif kind == "blackout":
        assert not world.utility_on[0]
    elif kind == "water_outage":
        assert not world.utility_on[1]
    elif kind == "facility_closure":
        assert not world.walkable.all() or (world.walkable != world.town.walkable).any()
    else:
        assert world.agents.forced[2] == world.agents.forced[5] >= 0
    for _ in range(10):  # outages must outlive the hourly weather roll
        world.step(np.zeros(world.n_agents, dtype=np.int64))
    assert len(world.perturbations.active) == 1
    assert world.perturbations.cancel(world, pid)
    assert world.utility_on.all()
    assert (world.economy.price_multiplier == 1).all()
    assert (world.walkable == world.town.walkable).all()
    assert (world.agents.forced == -1).all()
    assert not world.perturbations.cancel(world, pid)


def test_scheduler_is_locked_out_early_and_capped() -> None:
    hot = "world.perturbations.price_spike.probability_per_day=24"
    locked = make_world("world.perturbations.enabled=true", "features.curriculum=M2", hot)
    run_scripted(locked, 300)
    assert locked.perturbations.started == 0
    live = make_world(
        "world.perturbations.enabled=true",
        "world.perturbations.max_concurrent=1",
        hot,
        "world.perturbations.blackout.probability_per_day=24",
    )
    seen = []
    run_scripted(live, 600, lambda w: seen.append(len(w.perturbations.active)))
    assert live.perturbations.started >= 2
    assert max(seen) == 1


def test_arranged_meets_respect_fairness_buckets() -> None:
    world = make_world("features.stages.relationships=C")
    world.relations.update(0, 1, 0.0, 0.0, 0.9)
    world.relations.update(2, 3, 0.0, 0.0, 0.5)
    first = world.perturbations.trigger(world, "arranged_meet", duration=5)
    assert world.perturbations.active[0].params["agents"] == [0, 1]
    world.perturbations.cancel(world, first)
    world.perturbations.trigger(world, "arranged_meet", duration=5)
    assert world.perturbations.active[0].params["agents"] == [2, 3]  # 0 and 1 rest


def test_default_town_stage_c_five_days() -> None:
    world = make_world("features.stages.relationships=C")
    per_hour: dict[int, int] = {}

    def count(w: World) -> None:
        hour = w.tick // w.clock.ticks_per_hour
        per_hour[hour] = per_hour.get(hour, 0) + len(w.narrator.lines)

    run_scripted(world, 5 * world.clock.ticks_per_day, count)
    k = world.kpi_values()
    assert k["relationship_formation"] >= 0.6
    assert k["self_sufficiency"] >= 0.90
    assert max(per_hour.values()) <= world.settings.narration.max_per_hour
    assert k["conflicts"] > 0 and k["chats"] > 0 and k["shared_meals"] > 0


def rss_kb() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1))
def test_ten_thousand_ticks_with_lifecycle_and_perturbations(seed: int) -> None:
    config = default_config(
        f"seed={seed}",
        "features.lifecycle=true",
        "features.stages.relationships=C",
        "world.perturbations.enabled=true",
        "world.perturbations.blackout.probability_per_day=2",
        "world.perturbations.facility_closure.probability_per_day=2",
    )
    world = World.from_config(config)
    samples: dict[int, int] = {}

    def check(w: World) -> None:
        assert violations(w) == [], (w.tick, violations(w))
        assert 0 < w.agents.alive.sum() <= w.n_agents
        if w.tick in (1000, 10_000):
            samples[w.tick] = rss_kb()

    run_scripted(world, 10_000, check)
    assert samples[10_000] - samples[1000] < 20 * 1024  # no growth with ticks (< 20 MB)
    assert world.perturbations.started > 0
