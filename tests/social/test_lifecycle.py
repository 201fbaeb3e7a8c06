"""Lifecycle test cards: starvation, eviction, exit storms, outages, slots, jobs."""

from __future__ import annotations

import numpy as np

from tests.helpers import make_world, run_scripted
from townlet.core.world.invariants import violations
from townlet.core.world.lifecycle import EmbeddingSlots
from townlet.core.world.options import Option
from townlet.core.world.state import MILLS
from townlet.core.world.world import World

LIFECYCLE = "features.lifecycle=true"


def confiscate(world: World, slot: int) -> None:
    taken = int(world.agents.wallet[slot])
    world.economy.transfer(world.agents, slot, -taken, "test_confiscation")


def exits(world: World) -> list[dict]:
    return [e for e in world.events if e["kind"] == "exit"]


def test_starvation_collapse_exit_and_replacement() -> None:
    world = make_world(LIFECYCLE)
    ids_before = list(world.agent_ids)
    world.economy.daily_stock[:] = 0  # shops blocked
    world.economy.stock[:] = 0
    world.agents.inventory[0, :2] = 0
    confiscate(world, 0)
    world.agents.needs[0, 0] = 0.0
    log: list[tuple[int, dict]] = []
    run_scripted(world, 120, lambda w: log.extend((w.tick, e) for e in exits(w)))
    assert [e["reason"] for _, e in log] == ["collapse"]
    exit_tick, event = log[0]
    assert event["agent"] == ids_before[0]
    assert 30 <= exit_tick <= 32  # 30 ticks past the collapse deficit
    assert world.lifecycle.arrivals == 1
    assert 5 <= int(world.agents.spawned_at[0]) - exit_tick + 1 <= 20
    assert world.agents.alive.all()
    assert world.agent_ids[0] != ids_before[0]
    assert world.agent_ids[1:] == ids_before[1:]  # others unaffected
    assert violations(world) == []


def test_replacement_arrives_5_to_20_ticks_after_exit() -> None:
    world = make_world(LIFECYCLE)
    world.lifecycle.leave(world, 3, "collapse")
    left_at = world.tick
    assert not world.agents.alive[3]
    assert world.economy.balanced(world.agents)
    while not world.agents.alive[3]:
        world.step(np.zeros(world.n_agents, dtype=np.int64))
        assert world.tick - left_at <= 21
    assert world.tick - left_at >= 5
    a = world.agents
    assert tuple(a.xy[3]) in {tuple(p) for p in world.town.spawn_points}
    assert a.wallet[3] == round(1.5 * world.settings.economy.rent * MILLS)
    assert a.inventory[3].tolist() == [1, 0, 1]
    assert a.ctx_reset[3]


def test_eviction_after_the_grace_day() -> None:
    world = make_world(
        LIFECYCLE,  # a wage cut: the office pays next to nothing
        "world.jobs.jobs=[{place: office, start: '09:00', end: '17:00', wage: 0.0001}]",
    )
    confiscate(world, 0)
    world.agents.inventory[0] = (30, 0, 30)  # food and clothes: it will not starve first
    world.economy.set_multiplier(1, 3.0)  # price spike on meals
    day = world.clock.ticks_per_day
    notices, gone = [], []

    def watch(w: World) -> None:
        for e in w.events:
            if e["agent"] == "agent_000" and e["kind"] in ("eviction_notice", "exit"):
                (notices if e["kind"] == "eviction_notice" else gone).append((w.tick, e))

    run_scripted(world, 3 * day + 50, watch)
    assert notices and notices[0][0] // day == 2  # two unpaid midnights
    assert gone and gone[0][1]["reason"] == "eviction"
    assert gone[0][0] > 3 * day  # one more day to recover first


def test_exit_storm_guard() -> None:
    world = make_world(LIFECYCLE)
    for slot in (0, 1, 2):
        world.agents.needs[slot, 0] = 0.0
        world.agents.inventory[slot, :2] = 0
        confiscate(world, slot)
    world.economy.stock[:] = 0
    world.economy.daily_stock[:] = 0
    ticks: list[int] = []
    run_scripted(
        world, 900, lambda w: ticks.extend(w.tick for e in w.events if e["kind"] == "exit")
    )
    assert len(ticks) == 2  # capped for the day
    assert ticks[1] - ticks[0] >= world.settings.lifecycle.exit_cooldown


def test_blackout_during_shower_releases_and_suppresses_exits() -> None:
    world = make_world(LIFECYCLE)
    shower = world.affordances.index("shower")
    options = np.zeros(world.n_agents, dtype=np.int64)
    options[1] = Option.GET_CLEAN
    while world.agents.aff[1] != shower:
        world.step(options)
    pid = world.perturbations.trigger(world, "water_outage", duration=60)
    world.agents.needs[0, 0] = 0.0
    world.agents.inventory[0, :2] = 0
    confiscate(world, 0)
    world.step(options)
    assert world.agents.aff[1] == -1
    assert (world.objects.holder[world.town.objects_of_type("shower")] == -1).all()
    grace = world.settings.lifecycle.outage_grace
    for _ in range(59 + grace - 5):
        world.step(options)
        assert world.lifecycle.exits == 0  # suppressed during the outage and its grace
    assert pid is not None
    for _ in range(40):
        world.step(options)
    assert world.lifecycle.exits == 1
    assert violations(world) == []


def test_training_mode_switches_mortality_off() -> None:
    world = make_world(LIFECYCLE, "world.lifecycle.training_mode=true")
    world.agents.needs[0, 0] = 0.0
    confiscate(world, 0)
    world.agents.inventory[0, :2] = 0
    world.economy.stock[:] = 0
    world.economy.daily_stock[:] = 0
    run_scripted(world, 300)
    assert world.lifecycle.exits == 0
    assert world.agents.alive.all()


def test_embedding_slots_rest_then_recycle_oldest() -> None:
    slots = EmbeddingSlots(3, cooldown=2000)
    assert [slots.allocate(0)[0] for _ in range(3)] == [0, 1, 2]
    slots.release(1, tick=100)
    slots.release(0, tick=200)
    assert slots.allocate(2150) == (1, False)  # 1 rested 2,050 ticks
    slot, recycled = slots.allocate(2150)
    assert (slot, recycled) == (0, True)  # only 0 is free, freed 1,950 ticks ago


def test_recycled_embedding_is_logged() -> None:
    world = make_world(LIFECYCLE, "world.lifecycle.embedding_slots=8")
    world.lifecycle.leave(world, 2, "collapse")
    while not world.agents.alive[2]:
        world.step(np.zeros(world.n_agents, dtype=np.int64))
    assert world.event_counts["embedding_recycled"] == 1


def test_absences_cost_the_job_and_rehire_follows() -> None:
    world = make_world(
        LIFECYCLE, "world.lifecycle.fire_after_absences=2", "world.lifecycle.training_mode=true"
    )
    day = world.clock.ticks_per_day
    wait = np.zeros(world.n_agents, dtype=np.int64)
    while world.tick <= 2 * day:
        world.step(wait)  # nobody goes to work
    assert (world.agents.job == -1).all()
    assert world.event_counts["job_lost"] == 8
    while world.tick <= 4 * day:
        world.step(wait)
    assert world.event_counts["hired"] >= 8 + 8
