"""Golden observation fixtures: world states from seeded runs and their encodings.

    python -m tools.golden_observations tests/observations/fixtures

For each seed in :data:`SEEDS`, the default town (relationship stage B, so the
social features are live) runs with scripted citizens; at each tick in
:data:`TICKS` a few deterministic ties are added and the state every encoder
reads is saved together with each built-in encoder's arrays, feature names
and spec hash, in ``seed<N>.npz``. The golden test restores each state into a
fresh world and requires identical encodings: encoder changes show up,
changes of the simulation's dynamics do not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.config.loader import load_config, parse_override
from townlet.core.config.models import TownletConfig
from townlet.core.observations.encoders import (
    CompactEncoder,
    CompactParams,
    FullEncoder,
    FullParams,
    HybridEncoder,
    HybridParams,
)
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.rows import TownRows
from townlet.core.world.weather import UTILITIES
from townlet.core.world.world import World

__all__ = [
    "OVERRIDES",
    "SEEDS",
    "TICKS",
    "capture_state",
    "encoders",
    "fixture_config",
    "generate",
    "restore_state",
]

SEEDS: Final = (0, 7)
TICKS: Final = (0, 240, 610)
OVERRIDES: Final = ("features.stages.relationships=B",)


def fixture_config(seed: int) -> TownletConfig:
    """The config the fixtures of ``seed`` come from."""
    texts = (*OVERRIDES, f"seed={seed}")
    return load_config(overrides=[parse_override(t) for t in texts]).config


def encoders() -> list[FullEncoder | HybridEncoder | CompactEncoder]:
    """The built-in encoders with default params."""
    return [
        FullEncoder(FullParams()),
        HybridEncoder(HybridParams()),
        CompactEncoder(CompactParams()),
    ]


def _add_ties(world: World, seed: int) -> None:
    """Deterministic ties between living agents (so every social feature moves)."""
    rng = np.random.default_rng([seed, world.tick])
    rel = world.relations
    alive = np.flatnonzero(world.agents.alive)
    for slot in alive[::2]:
        others = alive[alive != slot]
        k = min(4, others.size, rel.other.shape[1])
        rel.other[slot, :k] = rng.choice(others, size=k, replace=False)
        rel.trust[slot, :k] = rng.uniform(-1, 1, k)
        rel.familiarity[slot, :k] = rng.uniform(-1, 1, k)
        rel.rivalry[slot, :k] = rng.uniform(-1, 1, k)


def capture_state(world: World) -> dict[str, npt.NDArray[Any]]:
    """Every array the encoders read, by name."""
    state: dict[str, npt.NDArray[Any]] = {
        f"agents.{k}": v.copy() for k, v in world.agents.arrays().items()
    }
    state.update({f"objects.{k}": v.copy() for k, v in world.objects.arrays().items()})
    state["world.utility_on"] = world.utility_on.copy()
    state["world.price"] = world.economy.price.copy()
    state["world.closed"] = world.town.walkable & ~world.walkable
    state["world.tick"] = np.array(world.tick)
    state["world.weather"] = np.array(world.weather)
    return state


_MOVED = {
    **{f"relations.{k}": f"agents.tie_{k}" for k in ("other", "trust", "familiarity", "rivalry")},
    "world.option_status": "agents.option_status",
}
"""Names in fixtures written before these arrays moved into the agent store."""


def restore_state(world: World, state: dict[str, npt.NDArray[Any]]) -> None:
    """Put a captured state into ``world`` (same config and town)."""
    groups = {"agents": world.agents.arrays(), "objects": world.objects.arrays()}
    for key, value in state.items():
        group, _, name = _MOVED.get(key, key).partition(".")
        arrays = groups.get(group)
        if arrays is not None and name in arrays and arrays[name].shape == value.shape:
            arrays[name][...] = value
    for u, name in enumerate(UTILITIES):
        world.set_utility(name, bool(state["world.utility_on"][u]))
    world.set_weather(str(state["world.weather"]))
    world.economy.price[:] = state["world.price"]
    closed = state["world.closed"].astype(bool)
    if closed.any():
        world.close_tiles(closed)
    world.tick = int(state["world.tick"])


def generate(directory: Path) -> list[Path]:
    """Write ``seed<N>.npz`` for every seed; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for seed in SEEDS:
        world = World.from_config(fixture_config(seed))
        policy = ScriptedPolicy(ScriptedPolicyParams())
        policy.reset(world, world.rng.policy)
        data: dict[str, Any] = {}
        for i, tick in enumerate(TICKS):
            while world.tick < tick:
                world.step(policy.act(world))
            _add_ties(world, seed)
            for key, value in capture_state(world).items():
                data[f"t{i}/state/{key}"] = value
            for enc in encoders():
                for comp, arr in enc.encode(TownRows.of(world)).items():
                    data[f"t{i}/obs/{enc.name}/{comp}"] = arr
        for enc in encoders():
            data[f"names/{enc.name}"] = np.array(enc.spec.feature_names())
            data[f"hash/{enc.name}"] = np.array(enc.spec.hash)
        data["meta"] = np.array(json.dumps({"seed": seed, "ticks": TICKS, "overrides": OVERRIDES}))
        path = directory / f"seed{seed}.npz"
        np.savez_compressed(path, **data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Regenerate the golden observation fixtures.")
    parser.add_argument(
        "directory", type=Path, nargs="?", default=Path("tests/observations/fixtures")
    )
    args = parser.parse_args(argv)
    for path in generate(args.directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
