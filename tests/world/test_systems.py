"""Systems one by one: jobs, economy, utilities, options, hooks."""

from __future__ import annotations

import numpy as np

from tests.helpers import default_config, make_world, run_scripted
from townlet.core import hookimpl
from townlet.core.hooks import make_plugin_manager
from townlet.core.world.invariants import violations
from townlet.core.world.options import Option, OptionStatus, action_masks
from townlet.core.world.queues import WORK
from townlet.core.world.rows import TownRows
from townlet.core.world.state import MILLS, ShiftState
from townlet.core.world.world import World


def advance_to(world: World, tick: int, options: np.ndarray | None = None) -> None:
    wait = np.zeros(world.n_agents, dtype=np.int64) if options is None else options
    while world.tick < tick:
        world.step(wait)


def next_to_desk(world: World, slot: int) -> tuple[int, int]:
    x, y = (int(v) for v in world.town.object_xy[world.agents.desk[slot]])
    for dx, dy in ((0, 1), (1, 0), (-1, 0), (0, -1)):
        if world.walkable[y + dy, x + dx] and world.object_at[y + dy, x + dx] < 0:
            return x + dx, y + dy
    raise AssertionError("desk has no free neighbour")


def test_on_time_arrival_pays_wage_and_bonus() -> None:
    world = make_world()
    a = world.agents
    start = int(world.job_start[a.job[0]])
    run_scripted(world, start)
    assert a.aff[0] == WORK  # arrived early, waiting at the desk
    before = int(a.wallet[0])
    lead = world.tick - int(a.reached_at[0])
    run_scripted(world, 1)
    assert a.shift_state[0] == ShiftState.ON_TIME
    window = world.clock.ticks_from_minutes(world.settings.jobs.bonus_window_minutes)
    bonus = round(world.settings.jobs.punctuality_bonus * MILLS * max(0.0, 1 - lead / window))
    assert int(a.wallet[0]) - before == int(world.job_wage[a.job[0]]) + bonus


def test_late_arrival() -> None:
    world = make_world()
    a = world.agents
    start = int(world.job_start[a.job[0]])
    grace = world.clock.ticks_from_minutes(world.settings.jobs.grace_minutes)
    advance_to(world, start + grace + 5)
    assert a.shift_state[0] == ShiftState.PENDING
    world.teleport(0, *next_to_desk(world, 0))
    options = np.zeros(world.n_agents, dtype=np.int64)
    options[0] = Option.GO_TO_WORK
    advance_to(world, world.tick + 5, options)
    assert a.shift_state[0] == ShiftState.LATE
    assert a.late_days[0] == 1
    assert world.event_counts["late"] == 1


def test_absent_withholds_wages() -> None:
    world = make_world()
    a = world.agents
    start = int(world.job_start[a.job[0]])
    absent = world.clock.ticks_from_minutes(world.settings.jobs.absent_after_minutes)
    advance_to(world, start + absent + 1)
    assert (a.shift_state[a.job == a.job[0]] == ShiftState.ABSENT).all()
    assert not world.action_masks()[0, Option.GO_TO_WORK]
    assert world.economy.ledger["wage"] == 0
    assert a.present_ticks[0] == 0 and a.scheduled_ticks[0] > 0


def test_midnight_rent_restock_and_arrears() -> None:
    world = make_world()
    a = world.agents
    a.wallet[0] = 500  # 0.5, less than the rent of 2.0
    world.economy.ledger["starting_money"] -= (
        int(world.settings.economy.starting_money * MILLS) - 500
    )
    cafe = world.economy.shop_places.index("cafe")
    world.economy.stock[cafe, 1] = 0
    advance_to(world, world.clock.ticks_per_day + 1)
    assert a.wallet[0] == 0
    assert a.rent_due[0] == 1500
    assert world.economy.stock[cafe, 1] == world.economy.daily_stock[cafe, 1]
    assert world.economy.balanced(a)


def test_water_cut_mid_shower_releases_the_user() -> None:
    world = make_world()
    shower = world.affordances.index("shower")
    options = np.full(world.n_agents, Option.WAIT, dtype=np.int64)
    options[0] = Option.GET_CLEAN
    for _ in range(400):
        world.step(options)
        if world.agents.aff[0] == shower:
            break
    assert world.agents.aff[0] == shower
    o = int(world.agents.target[0])
    world.set_utility("water", False, until=world.tick + 40)
    world.step(options)
    assert world.agents.aff[0] == -1
    assert world.objects.holder[o] == -1
    assert world.agents.option_status[0] == OptionStatus.FAILED
    assert world.kpi.failures["water_out"] == 1
    assert violations(world) == []


def test_masked_options_are_ignored_and_counted() -> None:
    world = make_world()
    options = np.full(world.n_agents, Option.SOCIALISE, dtype=np.int64)
    world.step(options)
    assert (world.agents.option != Option.SOCIALISE).all()
    assert world.kpi.invalid_options == world.n_agents
    assert not world.action_masks()[:, Option.SOCIALISE].any()


def test_commitment_window_holds_an_option() -> None:
    world = make_world()
    options = np.full(world.n_agents, Option.SLEEP, dtype=np.int64)
    world.step(options)
    assert (world.agents.option == Option.SLEEP).all()
    options[:] = Option.SHOP_GROCERIES
    world.step(options)
    assert (world.agents.option == Option.SLEEP).all()
    advance_to(world, world.settings.commit_window + 1, options)
    assert (world.agents.option == Option.SHOP_GROCERIES).all()


def test_work_holds_the_desk_for_the_shift() -> None:
    world = make_world()
    run_scripted(world, int(world.job_start[0]) + 40)
    assert world.agents.aff[0] == WORK
    assert world.objects.holder[world.agents.desk[0]] == 0


def test_hooks_fire_through_pluggy() -> None:
    calls: dict[str, int] = {}

    class Recorder:
        def _count(self, name: str) -> None:
            calls[name] = calls.get(name, 0) + 1

        @hookimpl
        def on_tick(self, world, tick):
            self._count("on_tick")

        @hookimpl
        def on_agent_spawn(self, world, tick, agent_id, reason):
            self._count("on_agent_spawn")

        @hookimpl
        def on_affordance_before(self, world, tick, agent_id, affordance, object_id):
            self._count("on_affordance_before")

        @hookimpl
        def on_affordance_after(self, world, tick, agent_id, affordance, object_id):
            self._count("on_affordance_after")

        @hookimpl
        def on_need_threshold(self, world, tick, agent_id, need, value):
            assert value < world.settings.needs.threshold
            self._count("on_need_threshold")

        @hookimpl
        def on_weather_change(self, world, tick, old, new):
            self._count("on_weather_change")

        @hookimpl
        def on_power_cut(self, world, tick, utility, on):
            self._count("on_power_cut")

    pm, _ = make_plugin_manager(load_entry_points=False)
    pm.register(Recorder())
    world = World.from_config(default_config(), hooks=pm.hook)
    run_scripted(world, 300)
    world.set_weather("rainy")
    world.set_utility("power", False)
    world.agents.needs[0, 0] = 0.31
    run_scripted(world, 30)
    assert calls["on_tick"] == 330
    assert calls["on_agent_spawn"] == 8
    assert calls["on_affordance_before"] >= calls["on_affordance_after"] > 0
    assert calls["on_weather_change"] >= 1 and calls["on_power_cut"] >= 1
    assert calls["on_need_threshold"] >= 1


def test_an_agent_out_of_energy_faints_where_it_stands() -> None:
    world = make_world("seed=2")
    run_scripted(world, 5)
    a = world.agents
    slot = 3
    xy = a.xy[slot].copy()
    a.needs[slot, 2] = 1e-5
    world.step(np.full(world.n_agents, Option.WAIT))
    assert [e["kind"] for e in world.events if e["agent"] == world.agent_ids[slot]] == ["faint"]
    assert a.needs[slot, 2] == np.float32(world.settings.needs.faint_energy)
    assert a.stall_until[slot] == world.tick - 1 + world.settings.needs.faint_ticks
    assert a.target[slot] == -1 and a.aff[slot] == -1
    run_scripted(world, 30)
    assert (a.xy[slot] == xy).all()  # lies where it fell
    assert violations(world) == []


def test_fainting_can_be_switched_off() -> None:
    world = make_world("seed=2", "world.needs.faint_ticks=0")
    world.agents.needs[3, 2] = 1e-5
    world.step(np.full(world.n_agents, Option.WAIT))
    assert world.event_counts["faint"] == 0 and world.agents.needs[3, 2] == 0.0


def test_masks_of_many_towns_at_once_equal_each_towns_own() -> None:
    """Towns that differ in time, stock, prices and water get the masks they would alone."""
    towns = [make_world(f"seed={s}") for s in (1, 2, 3)]
    run_scripted(towns[1], 400)  # later in the day: shifts open, money spent
    towns[2].set_utility("water", False)
    towns[2].set_weather("cold")  # dearer meals
    towns[2].economy.stock[:] = 0  # nothing to buy
    run_scripted(towns[2], 3)
    together = action_masks(TownRows(towns))
    alone = np.concatenate([action_masks(TownRows((w,))) for w in towns])
    np.testing.assert_array_equal(together, alone)
    assert not np.array_equal(alone[:8], alone[8:16])  # the towns really differ


def test_a_queued_agent_cut_off_by_a_closure_fails_instead_of_reserving() -> None:
    """Doors that close after an agent joined a queue leave its object unreachable:
    the option fails ('unreachable') rather than granting a reservation it cannot use."""
    world = make_world()
    a = world.agents
    slot = 0
    o = int(world.town.objects_of_type("shower")[0])
    place = world.town.object_places[o]
    assert world.town.places[place][0] != "home"
    world.switch_option(slot, Option.GET_CLEAN)
    a.target[slot] = a.queue_obj[slot] = o  # heading for a shower, in its queue ...
    a.goal[slot] = world.affordances.index("shower")
    world.set_closure(place, True)  # ... when the place shuts its doors
    assert not np.isfinite(world.fields.dist[o, a.xy[slot, 1], a.xy[slot, 0]])
    world.step(a.option.copy())
    assert world.objects.holder[o] != slot
    assert world.kpi.failures["unreachable"] == 1
    assert world.agents.option_status[slot] == OptionStatus.FAILED
    assert a.queue_obj[slot] == -1
