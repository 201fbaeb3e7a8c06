"""Helpers shared by simulation tests: configs, worlds and a stepping loop."""

from __future__ import annotations

from collections.abc import Callable

from townlet.core.config import TownletConfig, load_config, parse_override
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.world import World


def default_config(*overrides: str) -> TownletConfig:
    """The built-in default config with ``--set`` style overrides."""
    return load_config(overrides=[parse_override(o) for o in overrides]).config


def run_scripted(world: World, ticks: int, each: Callable[[World], None] | None = None) -> None:
    """Step ``world`` with the scripted policy, calling ``each`` after every tick."""
    policy = ScriptedPolicy(ScriptedPolicyParams())
    policy.reset(world, world.rng.policy)
    for _ in range(ticks):
        world.step(policy.act(world))
        if each is not None:
            each(world)


def make_world(*overrides: str) -> World:
    """A default-town world with ``--set`` style overrides."""
    return World.from_config(default_config(*overrides))
