"""Test-only helpers: configs, worlds, and forced exits and arrivals.

Exits and arrivals are forced here (never in library code) so env tests can
go through them deterministically whatever the lifecycle settings.
"""

from __future__ import annotations

from typing import Any

from townlet.core.config import TownletConfig, load_config, parse_override
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.world import World


def config(*overrides: str) -> TownletConfig:
    """The built-in default config with ``--set`` style overrides."""
    return load_config(overrides=[parse_override(o) for o in overrides]).config


def world(*overrides: str) -> World:
    """A fresh default-town world."""
    return World.from_config(config(*overrides))


def run_scripted(w: World, ticks: int) -> ScriptedPolicy:
    """Step ``w`` ``ticks`` times with scripted citizens; return the policy."""
    policy = ScriptedPolicy(ScriptedPolicyParams())
    policy.reset(w, w.rng.policy)
    for _ in range(ticks):
        w.step(policy.act(w))
    return policy


def force_exit(w: World, slot: int, reason: str = "test") -> None:
    """Make the agent in ``slot`` leave town now (a newcomer follows if lifecycle schedules one)."""
    lifecycle = getattr(w, "lifecycle", None)
    if lifecycle is not None and hasattr(lifecycle, "leave"):
        lifecycle.leave(w, slot, reason)
    else:
        w.agents.alive[slot] = False
        w.record("exit", slot, reason=reason)


def force_spawn(w: World, slot: int) -> None:
    """Bring a newcomer into empty ``slot`` now."""
    assert not w.agents.alive[slot]
    w.spawn(slot, reason="test")


EXITS = {10: 1, 40: 5}
"""Env step → slot forced to exit before that step."""


def disrupt(env: Any, step: int) -> None:
    """``check_env`` hook: exits at fixed steps; an arrival 25 steps later if none came."""
    w: World = env.town.world
    alive = w.agents.alive
    if step in EXITS and alive[EXITS[step]]:
        force_exit(w, EXITS[step])
    for at, slot in EXITS.items():
        if step == at + 25 and not alive[slot]:
            force_spawn(w, slot)


class ConsoleExits:
    """Forces exits the way an operator does, through the console bus: at world tick
    ``t`` the citizen in slot ``schedule[t]`` is removed (``kill``); the town's lifecycle
    (``features.lifecycle=true``) then brings a newcomer 5-20 ticks later.

    The bus is built on first use and dropped when pickled, so envs holding one can be
    cloned (SuperSuit copies envs with cloudpickle).
    """

    def __init__(self, schedule: dict[int, int]) -> None:
        self.schedule = dict(schedule)
        self.kills = 0
        self._bus: Any = None

    def __call__(self, w: World) -> None:
        slot = self.schedule.get(w.tick)
        if slot is None or not w.agents.alive[slot]:
            return
        if self._bus is None:
            from townlet.core.console.bus import ConsoleBus

            self._bus = ConsoleBus(admin_tokens=["test-admin"])
        self.kills += 1
        body = {
            "cmd_id": f"kill-{id(self)}-{self.kills}",
            "token": "test-admin",
            "command": "kill",
            "args": {"agent": w.agent_ids[slot]},
        }
        result = self._bus.execute(w, body)
        assert result.ok, result

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_bus": None}


LIFECYCLE = ("features.lifecycle=true",)
"""Overrides of a town whose citizens come and go."""
