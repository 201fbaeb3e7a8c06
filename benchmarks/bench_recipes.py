"""The docs/env.md library recipes on a town whose citizens come and go, beside ``ppo``.

    python benchmarks/bench_recipes.py [--ticks 500] [--steps 64000] [--json]

Every row runs the default town with ``features.lifecycle=true`` (8
citizens a town), agent-steps counted per wall-clock second:

- env only (``--ticks`` town steps, random legal actions where the route
  offers the mask): the bare ``VectorTownEnv`` (8 towns), ``TownVecEnv`` over
  it (SB3's ``VecEnv``), the fixed-slot view through the PettingZoo API, through
  SuperSuit's vec env (8 copies) and through TorchRL's ``PettingZooWrapper``,
  and ``TownTorchRLEnv`` (TorchRL's batched form of ``VectorTownEnv``, 8 towns);
- PPO end to end (``--steps`` agent-steps, rollouts and updates): ``ppo``
  (8 towns), SB3 PPO through SuperSuit + the slot view (8 copies), SB3 PPO and
  sb3-contrib ``MaskablePPO`` on ``TownVecEnv`` (8 towns). The libraries get
  ``ppo``'s batch shape (250 steps a slot, 16,000 agent-steps a batch, 4
  epochs of 4 minibatches; ``MlpPolicy``); the rest are their defaults.

Routes whose library is missing are skipped with the pip line that adds it
(``nox -s integrations`` installs them all).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from townlet.core.env import SlotParallelEnv, VectorTownEnv

try:
    from . import bench_train
except ImportError:  # run as a script
    import bench_train  # type: ignore[no-redef]

LIFECYCLE = {"features.lifecycle": True}
TOWNS = 8
WARMUP = 20
"""Town steps each env-only route takes before its clock starts (first-use costs)."""
NEEDS = {
    "supersuit": "pip install stable-baselines3==2.9.2 supersuit==3.11.0 -c constraints.txt",
    "stable_baselines3": "pip install stable-baselines3==2.9.2 -c constraints.txt",
    "sb3_contrib": "pip install sb3-contrib==2.9.2 -c constraints.txt",
    "torchrl": "pip install torchrl==0.14.1 tensordict==0.14.3 -c constraints.txt",
}


def _missing(*modules: str) -> str | None:
    for m in modules:
        if importlib.util.find_spec(m) is None:
            return NEEDS[m]
    return None


class Clock:
    """Times the measured part of a route (building envs and models is left out)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self, agent_steps: int) -> Result:
        wall, cpu = time.perf_counter() - self.start, time.process_time() - self.cpu
        return agent_steps, wall, cpu


Result = tuple[int, float, float]
"""Agent-steps, and the wall-clock and CPU seconds they took."""


# -- env only ---------------------------------------------------------------------------


def vector_env(ticks: int) -> Result:
    venv = VectorTownEnv(TOWNS, overrides=LIFECYCLE, horizon=1000)
    _, info = venv.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(WARMUP):
        _, _, _, _, info = venv.step(_legal(rng, info["action_mask"]))
    clock = Clock()
    for _ in range(ticks):
        _, _, _, _, info = venv.step(_legal(rng, info["action_mask"]))
    return clock.stop(ticks * venv.num_rows)


def town_vec_env(ticks: int) -> Result:
    from townlet.core.env.sb3 import TownVecEnv

    env = TownVecEnv(VectorTownEnv(TOWNS, overrides=LIFECYCLE, horizon=1000))
    env.seed(0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(WARMUP):
        env.step(_legal(rng, env.action_masks()))
    clock = Clock()
    for _ in range(ticks):
        env.step(_legal(rng, env.action_masks()))
    return clock.stop(ticks * env.num_envs)


def slot_view(ticks: int) -> Result:
    env = SlotParallelEnv(overrides=LIFECYCLE, flatten=True, horizon=1000)
    _, infos = env.reset(seed=0)
    rng = np.random.default_rng(0)
    clock = Clock()
    for _ in range(ticks):
        masks = np.stack([infos[a]["action_mask"] for a in env.agents])
        acts = _legal(rng, masks.astype(bool)).tolist()
        _, _, _, _, infos = env.step(dict(zip(env.agents, acts, strict=True)))
    return clock.stop(ticks * len(env.possible_agents))


def supersuit_vec(ticks: int) -> Result:
    import supersuit as ss

    vec = ss.pettingzoo_env_to_vec_env_v1(
        SlotParallelEnv(overrides=LIFECYCLE, flatten=True, horizon=1000)
    )
    vec = ss.concat_vec_envs_v1(vec, TOWNS, num_cpus=0, base_class="stable_baselines3")
    vec.reset()
    rng = np.random.default_rng(0)
    clock = Clock()
    for _ in range(ticks):
        vec.step(rng.integers(7, size=vec.num_envs))
    return clock.stop(ticks * vec.num_envs)


def torchrl_wrapper(ticks: int) -> Result:
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper

    town = SlotParallelEnv(overrides=LIFECYCLE, flatten=True, horizon=1000)
    with warnings.catch_warnings():  # it names the PettingZoo version it was tested with
        warnings.simplefilter("ignore", UserWarning)
        env = PettingZooWrapper(town, done_on_any=False, seed=0)
    first = env.reset()
    clock = Clock()
    env.rollout(ticks, break_when_any_done=False, auto_reset=False, tensordict=first)
    return clock.stop(ticks * len(town.possible_agents))


def torchrl_batched(ticks: int) -> Result:
    from townlet.core.env.torchrl_env import TownTorchRLEnv

    env = TownTorchRLEnv(VectorTownEnv(TOWNS, overrides=LIFECYCLE, horizon=1000))
    env.set_seed(0)
    first = env.rollout(WARMUP, break_when_any_done=False)[..., -1]["next"]
    clock = Clock()
    env.rollout(ticks, break_when_any_done=False, auto_reset=False, tensordict=first)
    return clock.stop(ticks * env.venv.num_rows)


def _legal(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """One random allowed option per row."""
    scores = rng.random(masks.shape) * masks
    return np.asarray(scores.argmax(axis=1), dtype=np.int64)


# -- PPO end to end ---------------------------------------------------------------------


def ppo(steps: int) -> Result:
    epochs = max(1, steps // (TOWNS * 8 * 250))
    config = bench_train._config(
        f"training.towns={TOWNS}",
        "training.rollout_ticks=250",
        f"training.epochs={epochs}",
        "features.lifecycle=true",
    )
    with tempfile.TemporaryDirectory() as tmp:
        result, wall, cpu = bench_train._train(config, Path(tmp) / "run")
    return int(result.transitions), wall, cpu


def _sb3_learn(algo: Any, env: Any, steps: int) -> Result:
    batch = 250 * env.num_envs
    model = algo("MlpPolicy", env, n_steps=250, batch_size=batch // 4, n_epochs=4, verbose=0)
    clock = Clock()
    model.learn(total_timesteps=steps)
    return clock.stop(int(model.num_timesteps))


def sb3_supersuit(steps: int) -> Result:
    import supersuit as ss
    from stable_baselines3 import PPO

    vec = ss.pettingzoo_env_to_vec_env_v1(
        SlotParallelEnv(overrides=LIFECYCLE, flatten=True, horizon=1000)
    )
    vec = ss.concat_vec_envs_v1(vec, TOWNS, num_cpus=0, base_class="stable_baselines3")
    return _sb3_learn(PPO, vec, steps)


def sb3_town_vec(steps: int) -> Result:
    from stable_baselines3 import PPO

    from townlet.core.env.sb3 import TownVecEnv

    return _sb3_learn(PPO, TownVecEnv(VectorTownEnv(TOWNS, overrides=LIFECYCLE)), steps)


def maskable_town_vec(steps: int) -> Result:
    from sb3_contrib import MaskablePPO

    from townlet.core.env.sb3 import TownVecEnv

    return _sb3_learn(MaskablePPO, TownVecEnv(VectorTownEnv(TOWNS, overrides=LIFECYCLE)), steps)


ENV_ONLY: list[tuple[str, Callable[[int], Result], tuple[str, ...]]] = [
    ("VectorTownEnv, 8 towns", vector_env, ()),
    ("TownVecEnv (SB3 VecEnv), 8 towns", town_vec_env, ("stable_baselines3",)),
    ("SlotParallelEnv, PettingZoo API, 1 town", slot_view, ()),
    ("SlotParallelEnv via SuperSuit, 8 copies", supersuit_vec, ("supersuit",)),
    ("SlotParallelEnv via TorchRL PettingZooWrapper, 1 town", torchrl_wrapper, ("torchrl",)),
    ("TownTorchRLEnv (TorchRL EnvBase), 8 towns", torchrl_batched, ("torchrl",)),
]
TRAINING: list[tuple[str, Callable[[int], Result], tuple[str, ...]]] = [
    ("ppo (townlet-strategies), 8 towns", ppo, ()),
    ("SB3 PPO via SuperSuit + SlotParallelEnv, 8 copies", sb3_supersuit, ("supersuit",)),
    ("SB3 PPO on TownVecEnv, 8 towns", sb3_town_vec, ("stable_baselines3",)),
    ("MaskablePPO on TownVecEnv, 8 towns", maskable_town_vec, ("sb3_contrib",)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=500, help="town steps of each env-only row")
    parser.add_argument("--steps", type=int, default=64_000, help="agent-steps of each PPO row")
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for kind, rows, budget in (("env only", ENV_ONLY, args.ticks), ("PPO", TRAINING, args.steps)):
        for label, run, modules in rows:
            need = _missing(*modules)
            if need is not None:
                print(f"{kind:8}  {label}: skipped ({need})")
                continue
            steps, wall, cpu = run(budget)
            row = {"kind": kind, "route": label, "agent_steps": steps, "seconds": round(wall, 1),
                   "agent_steps_per_s": round(steps / wall),
                   "agent_steps_per_cpu_s": round(steps / cpu)}  # fmt: skip
            if args.json:
                print(json.dumps(row))
            else:
                print(f"{kind:8}  {label:55} {row['agent_steps_per_s']:>8,} /s "
                      f"{row['agent_steps_per_cpu_s']:>8,} /CPU s ({steps:,} in {wall:.1f} s)",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
