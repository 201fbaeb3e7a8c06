"""check_env passes for every variant through exits and arrivals, and catches broken envs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from tests.env.helpers import disrupt
from townlet.core.env import TownletParallelEnv
from townlet.core.testing import EnvCheckError, check_env


@pytest.mark.parametrize("encoder", ["full", "hybrid", "compact"])
def test_check_env_passes_through_exits_and_arrivals(encoder: str) -> None:
    env = TownletParallelEnv(encoder=encoder, horizon=250, max_newcomers=2)
    report = check_env(env, steps=300, disrupt=disrupt)
    assert report.steps == 250 and report.truncated
    assert report.exits == 2 and report.arrivals == 2


class Noisy(TownletParallelEnv):
    """Rewards depend on an unseeded generator."""

    def step(self, actions):
        obs, rew, term, trunc, info = super().step(actions)
        noise = np.random.default_rng().random()
        return obs, {a: r + noise for a, r in rew.items()}, term, trunc, info


class OutOfSpace(TownletParallelEnv):
    """After a while one need is reported above its bound."""

    def step(self, actions):
        obs, rew, term, trunc, info = super().step(actions)
        if self.town.world.tick > 20:
            first = next(iter(obs))
            obs[first]["scalars"] = obs[first]["scalars"].copy()
            obs[first]["scalars"][0] = 1.5
        return obs, rew, term, trunc, info


class Zombie(TownletParallelEnv):
    """Leavers are reported terminated but stay in ``agents``."""

    def step(self, actions):
        before = list(self.agents)
        out = super().step(actions)
        self.agents = sorted(set(self.agents) | {a for a in before if out[2].get(a)})
        return out


class SeedBlind(TownletParallelEnv):
    """Ignores the seed."""

    def reset(self, seed=None, options=None):
        return super().reset(seed=0, options=options)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (Noisy, "not deterministic"),
        (OutOfSpace, "not in its space"),
        (Zombie, "still in agents"),
        (SeedBlind, "identical episodes"),
    ],
)
def test_check_env_fails_on_broken_envs(cls: type, message: str) -> None:
    env = cls(encoder="compact", horizon=60, max_newcomers=2)
    with pytest.raises(EnvCheckError, match=message):
        check_env(env, steps=60, disrupt=disrupt)


def test_fixed_agents_check_catches_an_env_whose_agents_change() -> None:
    env = TownletParallelEnv(encoder="compact", horizon=100, max_newcomers=0)
    with pytest.raises(EnvCheckError, match="step 10: agents changed in a fixed-agent env"):
        check_env(env, steps=50, disrupt=disrupt, fixed_agents=True)
