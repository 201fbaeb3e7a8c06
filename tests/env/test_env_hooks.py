"""Installed hook plugins fire inside every form of a town, as under ``townlet run``."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from tests.env.helpers import config
from townlet.core.config import TownletConfig
from townlet.core.env import SubprocVectorTownEnv, TownletParallelEnv, VectorTownEnv
from townlet.core.registry import Registry
from townlet.core.sim import Simulation
from townlet.core.world.world import World

TICKS = 1000
EVENTFUL = (
    "seed=3",
    "features.stages.relationships=C",
    "features.lifecycle=true",
    "world.perturbations.enabled=true",
    "world.ticks_per_day=300",
    "world.needs.hunger_decay=0.004",
    "world.lifecycle.fire_after_absences=1",
    "world.lifecycle.exit_cooldown=0",
    "world.lifecycle.neglect_fraction=0.05",
)
"""A short, busy run in which every hook fires."""

COUNTER = '''
from collections import Counter

from townlet.core import hookimpl, hookspecs

calls = Counter()
"""(hook, world seed) -> calls."""


def _count(name):
    def impl(world, tick):
        calls[(name, world.seed)] += 1

    return hookimpl(specname=name)(impl)


for _name in [n for n in vars(hookspecs) if n.startswith("on_")]:
    globals()[_name] = _count(_name)
'''


@pytest.fixture
def calls(make_dist: Any) -> Counter[tuple[str, int]]:
    """Calls of every hook, counted by a temporary installed hook plugin."""
    make_dist(
        "hooks-counter",
        entry_points={"townlet": {"counter": "hook_counter"}},
        modules={"hook_counter": COUNTER},
    )
    import hook_counter  # type: ignore[import-not-found]

    counted: Counter[tuple[str, int]] = hook_counter.calls  # make_dist unloads it after
    return counted


def _scripted(cfg: TownletConfig, world: World) -> Any:
    policy = Registry().build("policies", cfg.policy.name, cfg.policy.params)
    policy.reset(world, world.rng.policy)
    return policy


def _by_seed(calls: Counter[tuple[str, int]], seed: int) -> dict[str, int]:
    return {hook: n for (hook, s), n in calls.items() if s == seed}


def _simulated(calls: Counter[tuple[str, int]], cfg: TownletConfig) -> dict[str, int]:
    calls.clear()
    sim = Simulation(cfg)
    assert sim.failures == []
    sim.run(TICKS)
    got = _by_seed(calls, cfg.seed)
    calls.clear()
    return got


def test_every_hook_fires_in_the_parallel_env_as_in_a_run(calls: Counter[tuple[str, int]]) -> None:
    cfg = config(*EVENTFUL)
    expected = _simulated(calls, cfg)
    assert expected["on_tick"] == TICKS
    assert len(expected) == 13, f"a hook did not fire in the reference run: {expected}"

    env = TownletParallelEnv(cfg, horizon=TICKS + 1)
    assert env.runtime.hook_failures == ()
    env.reset(seed=cfg.seed)
    world = env.town.world
    assert world is not None
    policy = _scripted(cfg, world)
    for _ in range(TICKS):
        options = policy.act(world)
        slot = {agent: i for i, agent in enumerate(world.agent_ids)}
        env.step({agent: int(options[slot[agent]]) for agent in env.agents})
    assert _by_seed(calls, cfg.seed) == expected


def test_every_hook_fires_in_the_vector_env_as_in_a_run(calls: Counter[tuple[str, int]]) -> None:
    cfg = config(*EVENTFUL)
    seeds = (cfg.seed, cfg.seed + 1)
    expected = [_simulated(calls, cfg.model_copy(update={"seed": s})) for s in seeds]

    venv = VectorTownEnv(2, cfg, horizon=TICKS + 1)
    venv.reset(seed=cfg.seed)  # town g starts from seed + g
    policies = [_scripted(cfg, w) for w in venv.worlds]
    for _ in range(TICKS):
        venv.step([o for p, w in zip(policies, venv.worlds, strict=True) for o in p.act(w)])
    for seed, want in zip(seeds, expected, strict=True):
        assert _by_seed(calls, seed) == want


HOOK_LOG = """
import os

from townlet.core import hookimpl


@hookimpl
def on_tick(world, tick):
    with open(os.environ["HOOK_LOG"], "a") as f:
        f.write(f"{world.seed} {tick}\\n")
"""


def test_hooks_fire_in_subprocess_workers(make_dist: Any, tmp_path: Any, monkeypatch: Any) -> None:
    log = tmp_path / "ticks.log"
    monkeypatch.setenv("HOOK_LOG", str(log))  # the spawned workers inherit it and sys.path
    make_dist(
        "hooks-log", entry_points={"townlet": {"log": "hook_log"}}, modules={"hook_log": HOOK_LOG}
    )
    with SubprocVectorTownEnv(2, num_workers=2, horizon=100) as venv:
        assert venv.hook_failures == ()
        venv.reset(seed=4)
        for _ in range(3):
            venv.step(np.zeros(venv.num_rows, np.int64))
    lines = sorted(log.read_text().splitlines())
    assert lines == sorted(f"{seed} {tick}" for seed in (4, 5) for tick in range(3))
