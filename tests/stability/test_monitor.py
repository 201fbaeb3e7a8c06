"""The stability monitor on real towns: silent on the default town, loud on a broken one."""

from __future__ import annotations

import pytest

from townlet.core.config import load_config, parse_override
from townlet.core.sim import Simulation
from townlet.core.stability import KPI_NAMES, StabilityMonitor, StabilityParams, WindowReport

FOOD_X10 = ("world.economy.prices.meal=10", "world.economy.prices.raw_food=4")
"""Food ten times dearer than the default prices (1.0 and 0.4)."""


def _run(days: int, *overrides: str, seed: int = 0) -> Simulation:
    config = load_config(overrides=[parse_override(o) for o in (f"seed={seed}", *overrides)])
    sim = Simulation(config.config)
    sim.run(days * sim.world.clock.ticks_per_day)
    return sim


@pytest.mark.parametrize("seed", [0, 1])
def test_the_default_town_raises_no_canary(seed: int) -> None:
    sim = _run(4, seed=seed)
    reports = sim.stability.reports
    assert [r.window for r in reports] == [1, 2, 3, 4]
    assert all(r.window_ticks == 1000 for r in reports[1:])
    assert sim.stability.fired == {}
    assert reports[0].baseline is None and reports[1].baseline == reports[0].kpis
    assert {c.name for c in reports[1].canaries} == {"starvation", "lateness", "option_switch_rate"}
    for report in reports:
        assert tuple(report.kpis) == KPI_NAMES
        assert report.kpis["self_sufficiency"] > 0.9
        assert report.kpis["starvation_incidents"] == 0


def test_food_prices_times_ten_fire_the_starvation_canary() -> None:
    sim = _run(4, *FOOD_X10)
    fired = sim.stability.fired
    assert fired.get("starvation", 0) >= 1, [r.kpis for r in sim.stability.reports]
    last = sim.stability.reports[-1]
    starvation = next(c for c in last.canaries if c.name == "starvation")
    assert starvation.fired and starvation.value > starvation.threshold
    assert "starvation incident" in starvation.message
    assert last.drops()["self_sufficiency"] > 0.1  # hungry citizens: a real KPI drop


def test_the_run_summary_counts_windows_and_canaries() -> None:
    sim = _run(4, *FOOD_X10)
    summary = sim.stability.summary()
    assert summary["windows"] == 4 and summary["fired"]["starvation"] >= 1
    assert summary["last"] == sim.stability.reports[-1].kpis


def test_close_window_reports_a_partial_window_and_refuses_an_empty_one() -> None:
    sim = Simulation(load_config().config)
    world = sim.world
    monitor = StabilityMonitor(StabilityParams(window_ticks=50))
    monitor.start(world)
    closed: list[WindowReport] = []
    for _ in range(120):
        world.step(sim.policy.act(world))
        if (report := monitor.observe(world)) is not None:
            closed.append(report)
    assert [r.tick for r in closed] == [50, 100]
    partial = monitor.close_window()
    assert partial.window == 3 and partial.window_ticks == 20 and partial.tick == 120
    with pytest.raises(RuntimeError, match="no tick observed"):
        monitor.close_window()


def test_a_given_baseline_is_kept_and_judges_the_first_window() -> None:
    sim = Simulation(load_config().config)
    world = sim.world
    strict = dict.fromkeys(KPI_NAMES, 0.0) | {"option_switch_rate": 1.0}
    monitor = StabilityMonitor(StabilityParams(window_ticks=100, switch_windows=2), strict)
    for _ in range(301):
        world.step(sim.policy.act(world))
        monitor.observe(world)
    first, second = monitor.reports[0], monitor.reports[1]
    assert first.baseline == strict and monitor.baseline == strict
    switch = [c for r in monitor.reports for c in r.canaries if c.name == "option_switch_rate"]
    assert [c.fired for c in switch] == [False, True, True]  # two windows in a row
    assert first.drops()["option_switch_rate"] > 0.25 and second.fired == ["option_switch_rate"]


def test_a_new_world_continues_the_open_window() -> None:
    config = load_config().config
    monitor = StabilityMonitor(StabilityParams(window_ticks=10))
    for _ in range(2):
        sim = Simulation(config)
        for _ in range(15):
            sim.world.step(sim.policy.act(sim.world))
            monitor.observe(sim.world)
    # world 1: ticks 2..10 close window 1, 11..15 stay open; world 2 adds ticks 2..10
    assert [r.window_ticks for r in monitor.reports] == [9, 14]


def test_an_env_that_replaces_the_world_keeps_the_window_sound() -> None:
    from townlet.core.env.vector import VectorTownEnv
    from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
    from townlet.core.world.rows import TownRows

    env = VectorTownEnv(1, load_config().config, horizon=250)
    env.reset(seed=0)
    policy = ScriptedPolicy(ScriptedPolicyParams())
    policy.reset(env.worlds[0], env.worlds[0].rng.policy)
    monitor = StabilityMonitor()
    for _ in range(500):
        _, _, _, _, info = env.step(policy.act_many(TownRows(env.worlds)))
        if info["reset_towns"]:  # the step that ended the episode replaced the world
            monitor.close_window()
            policy.reset(env.worlds[0], env.worlds[0].rng.policy)
        monitor.observe(env.worlds[0])
    env.close()
    first, second = monitor.reports
    assert (first.tick, first.window_ticks) == (249, 248)  # tick 250 was never observed
    assert second.window_ticks == 249
    # the state KPIs come from the last reading (tick 200) of the world that ended,
    # not from the fresh world sharing its storage
    assert first.kpis["job_tenure"] == second.kpis["job_tenure"] == 0.2
    assert all(r.kpis["self_sufficiency"] > 0.9 for r in monitor.reports)


def test_the_stability_config_section_sets_the_run_monitor() -> None:
    sim = _run(1, "stability.window_ticks=250", "stability.starvation_max=5")
    assert sim.stability.params.starvation_max == 5
    assert [r.tick for r in sim.stability.reports] == [250, 500, 750, 1000]
