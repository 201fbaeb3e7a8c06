"""Towns stepped together (one pass per system over all their rows) equal their runs alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.helpers import default_config
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.rows import TownRows
from townlet.core.world.state import AgentArrays
from townlet.core.world.tick import step_worlds
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
    worlds = []
    for t, seed in enumerate(seeds):
        cfg = default_config(f"seed={seed}", *overrides)
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
    assert TownRows(together).shared is shared
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
