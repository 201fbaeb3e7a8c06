"""Helpers shared by tests: configs, worlds, a stepping loop and waiting on events."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

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


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, interval: float = 0.005) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds; return its last value.

    The timeout only turns a hang into a failure: it is far above what any event
    takes on a busy machine, so no test depends on how fast the machine is.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        time.sleep(interval)
    return True


def pip_install_into(target: Path, *packages: Path, what: str) -> None:
    """pip-install local ``packages`` (no dependencies, no build isolation) into the
    private directory ``target``; fail naming ``what`` with pip's output."""
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    proc = subprocess.run(
        [*pip, "--target", str(target), *map(str, packages)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"installing {what} failed:\n{proc.stderr}"
