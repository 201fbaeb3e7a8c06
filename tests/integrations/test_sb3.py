"""Stable-Baselines3 on a town whose citizens come and go: the docs/env.md recipes.

SuperSuit + SB3 PPO through the fixed-slot view, and SB3 PPO / sb3-contrib
MaskablePPO on vectorised towns through ``TownVecEnv``; exits are forced
through the console bus (``features.lifecycle=true`` brings the newcomers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("pettingzoo")
pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import set_random_seed

from tests.env.helpers import LIFECYCLE, ConsoleExits
from townlet.core.env import VectorTownEnv
from townlet.core.env.sb3 import TownVecEnv

AGENT_STEPS = 2_000


class Flags(BaseCallback):  # type: ignore[misc]
    """Counts the exits and arrivals the learner saw in its infos."""

    def __init__(self) -> None:
        super().__init__()
        self.exits = self.arrivals = 0

    def _on_step(self) -> bool:
        infos: list[dict[str, Any]] = self.locals["infos"]
        self.exits += sum(bool(i.get("exited")) for i in infos)
        self.arrivals += sum(bool(i.get("arrived")) for i in infos)
        return True


class CheckedTowns(TownVecEnv):
    """``TownVecEnv`` whose console removes citizens on schedule in every town, and which
    counts actions its masks did not allow."""

    def __init__(self, venv: VectorTownEnv, schedule: dict[int, int]) -> None:
        super().__init__(venv)
        self.exits = ConsoleExits(schedule)
        self.masked_taken = 0
        self.masked_offered = 0

    def step_async(self, actions: Any) -> None:
        acts = np.asarray(actions, dtype=np.int64)
        allowed = self._masks[np.arange(acts.size), acts]
        self.masked_taken += int((~allowed).sum())
        self.masked_offered += int((~self._masks).any(axis=1).sum())
        for world in self.venv.worlds:
            self.exits(world)
        super().step_async(actions)


def test_supersuit_and_sb3_ppo_train_through_the_slot_view() -> None:
    ss = pytest.importorskip("supersuit")
    from tests.env.disrupted import DisruptedSlots

    # the recipe: one town's slots as SB3 envs (here with console exits forced in)
    env = DisruptedSlots(overrides=LIFECYCLE, flatten=True, horizon=100, schedule={10: 1, 40: 5})
    vec = ss.pettingzoo_env_to_vec_env_v1(env)
    vec = ss.concat_vec_envs_v1(vec, 1, num_cpus=0, base_class="stable_baselines3")
    set_random_seed(0)  # SuperSuit's vec env takes no seed(): seed torch and numpy instead
    model = PPO("MlpPolicy", vec, n_steps=125, batch_size=250, n_epochs=1)
    flags = Flags()
    model.learn(total_timesteps=AGENT_STEPS, callback=flags)
    vec.close()
    assert model.num_timesteps >= AGENT_STEPS
    assert flags.exits >= 2 and flags.arrivals >= 1


def test_sb3_ppo_trains_on_vectorised_towns() -> None:
    env = CheckedTowns(VectorTownEnv(2, overrides=LIFECYCLE, horizon=100), {10: 1, 40: 5})
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=256, n_epochs=1, seed=0)
    flags = Flags()
    model.learn(total_timesteps=AGENT_STEPS, callback=flags)
    assert model.num_timesteps >= AGENT_STEPS
    assert flags.exits >= 4 and flags.arrivals >= 2


def test_maskable_ppo_never_takes_a_masked_option() -> None:
    contrib = pytest.importorskip("sb3_contrib")
    env = CheckedTowns(VectorTownEnv(2, overrides=LIFECYCLE, horizon=100), {10: 1, 40: 5})
    model = contrib.MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=256, n_epochs=1, seed=0)
    flags = Flags()
    model.learn(total_timesteps=AGENT_STEPS, callback=flags)
    assert model.num_timesteps >= AGENT_STEPS
    assert flags.exits >= 4 and flags.arrivals >= 2
    assert env.masked_offered > 100  # the masks did forbid options, vacant slots included
    assert env.masked_taken == 0
