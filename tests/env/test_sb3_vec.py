"""TownVecEnv: vectorised towns as an SB3 VecEnv, one row per agent slot."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3.common.vec_env import VecEnv

from tests.env.helpers import LIFECYCLE, ConsoleExits
from townlet.core.env import VectorTownEnv
from townlet.core.env.sb3 import TownVecEnv
from townlet.core.world.options import Option


def test_rows_observations_masks_and_seeding() -> None:
    env = TownVecEnv(VectorTownEnv(2, encoder="compact", horizon=5))
    assert isinstance(env, VecEnv) and env.num_envs == 16
    env.seed(3)
    obs = env.reset()
    assert obs.shape == (16, env.spec.size) and obs.dtype == np.float32
    assert env.observation_space.contains(obs[0])
    assert [w.seed for w in env.venv.worlds] == [3, 4]
    masks = np.stack(env.env_method("action_masks"))
    assert masks.shape == (16, 7) and masks[:, Option.WAIT].all()
    np.testing.assert_array_equal(masks, env.action_masks())
    assert len(env.env_method("action_masks", indices=[0, 5])) == 2
    assert env.has_attr("action_masks") and env.get_attr("render_mode") == [None] * 16
    with pytest.raises(AttributeError):
        env.env_method("render")
    again = TownVecEnv(VectorTownEnv(2, encoder="compact", horizon=5))
    again.seed(3)
    np.testing.assert_array_equal(again.reset(), obs)


def test_horizon_gives_dones_with_terminal_observations() -> None:
    env = TownVecEnv(VectorTownEnv(1, encoder="compact", horizon=3))
    env.seed(0)
    env.reset()
    for step in range(3):
        obs, rewards, dones, infos = env.step(np.zeros(8, np.int64))
        assert rewards.shape == dones.shape == (8,)
        assert dones.all() == (step == 2)
    assert all(i["TimeLimit.truncated"] for i in infos)
    assert infos[0]["terminal_observation"].shape == (env.spec.size,)
    assert not np.array_equal(infos[0]["terminal_observation"], obs[0])  # obs: the new episode


def test_a_vacant_row_is_done_once_then_zeros_and_wait_only_until_a_newcomer() -> None:
    venv = VectorTownEnv(1, encoder="compact", horizon=100, overrides=LIFECYCLE)
    env = TownVecEnv(venv)
    env.seed(1)
    env.reset()
    ConsoleExits({0: 2})(venv.worlds[0])
    obs, rewards, dones, infos = env.step(np.zeros(8, np.int64))
    assert dones.tolist() == [i == 2 for i in range(8)] and infos[2]["exited"]
    assert infos[2]["TimeLimit.truncated"] is False  # a departure: no bootstrapping
    assert infos[2]["terminal_observation"].shape == (env.spec.size,)
    assert not infos[2]["terminal_observation"].any()
    assert "terminal_observation" not in infos[3]
    assert rewards[2] == pytest.approx(-1.0)
    for _ in range(30):
        masks = env.action_masks()
        if not infos[2]["vacant"]:
            break
        assert not obs[2].any() and masks[2].tolist() == [True] + [False] * 6
        obs, rewards, dones, infos = env.step(np.full(8, int(Option.GET_FED)))
        assert not dones[2] and (rewards[2] == 0.0 or infos[2]["arrived"])
    assert infos[2]["arrived"] and obs[2].any()


def test_subprocess_towns_give_the_same_rows() -> None:
    from townlet.core.env import SubprocVectorTownEnv

    here = TownVecEnv(VectorTownEnv(2, encoder="compact", horizon=4))
    with SubprocVectorTownEnv(2, num_workers=2, encoder="compact", horizon=4) as sub:
        there = TownVecEnv(sub)
        for env in (here, there):
            env.seed(9)
        np.testing.assert_array_equal(here.reset(), there.reset())
        for _ in range(5):  # across the auto-reset at the horizon
            acts = np.where(here.action_masks()[:, Option.GET_FED], int(Option.GET_FED), 0)
            a, b = here.step(acts), there.step(acts)
            for x, y in zip(a[:3], b[:3], strict=True):
                np.testing.assert_array_equal(x, y)
            assert [i.keys() for i in a[3]] == [i.keys() for i in b[3]]


def test_every_row_of_a_town_at_its_horizon_is_done_an_empty_slot_too() -> None:
    venv = VectorTownEnv(1, encoder="compact", horizon=20, overrides=LIFECYCLE)
    env = TownVecEnv(venv)
    env.seed(1)
    env.reset()
    exits = ConsoleExits({16: 2})  # newcomers come 5+ ticks later: slot 2 is empty at 20
    for _ in range(20):
        exits(venv.worlds[0])
        obs, _, dones, infos = env.step(np.zeros(8, np.int64))
    assert infos[2]["vacant"] is False  # the town has reset: a citizen holds every slot
    assert dones.all() and all(i["TimeLimit.truncated"] for i in infos)
    assert not infos[2]["terminal_observation"].any()  # the slot was empty at the horizon
    assert infos[3]["terminal_observation"].any() and obs[2].any()
