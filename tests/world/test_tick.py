"""Towns stepped together (one pass per system over all their rows) equal their runs alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.helpers import default_config
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.lifecycle import count_danger
from townlet.core.world.rows import TownRows
from townlet.core.world.state import AgentArrays
from townlet.core.world.tick import step_worlds, steps_together
from townlet.core.world.world import World

LIVELY = (
    "features.stages.relationships=C",
    "world.weather.power_fault_probability=0.2",
    "world.weather.water_fault_probability=0.2",
    "world.weather.change_probability=0.5",
    "world.needs.energy_decay=0.004",  # some faint before bedtime
)


def _worlds(seeds: list[int], shared: bool, *overrides: str) -> list[World]:
    storage = AgentArrays.allocate(8 * len(seeds)) if shared else None
    base = default_config(*overrides)
    worlds = []
    for t, seed in enumerate(seeds):
        cfg = base.model_copy(update={"seed": seed})  # one set of world settings, as in a venv
        rows = storage.rows(slice(8 * t, 8 * t + 8)) if storage is not None else None
        worlds.append(World.from_config(cfg, agents=rows))
    return worlds


def _trace(world: World) -> dict[str, Any]:
    return {"hash": world.state_hash(), "events": list(world.events), "kpi": world.kpi_values()}


@pytest.mark.parametrize("shared", [True, False], ids=["row-storage", "own-storage"])
def test_towns_stepped_together_equal_their_runs_alone(shared: bool) -> None:
    seeds = [3, 4, 5]
    together = _worlds(seeds, shared, *LIVELY)
    alone = _worlds(seeds, False, *LIVELY)
    assert steps_together(TownRows(together)) is shared
    policies = [ScriptedPolicy(ScriptedPolicyParams()) for _ in range(2 * len(seeds))]
    for policy, world in zip(policies, together + alone, strict=True):
        policy.reset(world, world.rng.policy)
    kinds: set[str] = set()
    for tick in range(1200):  # through a midnight, shifts, outages and faints
        if tick in (300, 700):  # closed doors: those towns move one by one
            for world in (together[1], alone[1]):
                world.set_closure("cafe", tick == 300)
        acts = [p.act(w) for p, w in zip(policies, together + alone, strict=True)]
        step_worlds(together, np.concatenate(acts[: len(seeds)]))
        for world, act in zip(alone, acts[len(seeds) :], strict=True):
            world.step(act)
        for a, b in zip(together, alone, strict=True):
            assert a.events == b.events, tick
            kinds.update(e["kind"] for e in a.events)
            if tick % 100 == 0:
                assert _trace(a) == _trace(b), tick
    assert {"utility", "faint", "weather"} <= kinds, kinds
    for a, b in zip(together, alone, strict=True):
        assert _trace(a) == _trace(b)
        assert a.economy.ledger == b.economy.ledger


def test_towns_with_their_own_settings_step_one_by_one() -> None:
    """Row storage alone is not enough: towns that do not share their world settings
    (here one with a different need decay) are stepped each on its own, correctly."""
    storage = AgentArrays.allocate(16)
    configs = [default_config("seed=1"), default_config("seed=2", "world.needs.hunger_decay=0.004")]
    together = [
        World.from_config(cfg, agents=storage.rows(slice(8 * t, 8 * t + 8)))
        for t, cfg in enumerate(configs)
    ]
    alone = [World.from_config(cfg) for cfg in configs]
    assert TownRows(together).shared and not steps_together(TownRows(together))
    for _ in range(200):
        acts = np.zeros(16, dtype=np.int64)
        step_worlds(together, acts)
        for world in alone:
            world.step(acts[:8])
    assert [w.state_hash() for w in together] == [w.state_hash() for w in alone]


def test_collapse_counts_compare_like_a_town_alone_when_limits_differ() -> None:
    """A console-set collapse limit on one town: its rows compare in float32, as alone."""
    together = _worlds([1, 2], True)
    alone = _worlds([1], False)[0]
    for world in (together[0], alone):
        world.lifecycle.collapse_deficit = 0.6
        world.agents.needs[0, 0] = np.float32(1.0) - np.float32(0.6)  # deficit == f32(0.6)
    count_danger(TownRows(together))
    count_danger(TownRows((alone,)))
    np.testing.assert_array_equal(together[0].agents.collapse_ticks, alone.agents.collapse_ticks)
