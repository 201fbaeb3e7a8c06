"""The RLlib adapter: spaces for newcomers, ``__all__`` through exits and arrivals, seeds,
and one iteration of RLlib's PPO with a shared policy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("ray.rllib")

from townlet.core.errors import ConfigError
from townlet.strategies.ray.rllib import TownletMultiAgentEnv, shared_policy_ppo_config

# four citizens; agent_001 is removed at tick 10 and a newcomer arrives 5..8 ticks later
LIFECYCLE: dict[str, Any] = {
    "overrides": {
        "world.agents": 4,
        "features.lifecycle": True,
        "world.lifecycle.spawn_delay_max": 8,
        "timeline": [{"at": 10, "command": "kill", "args": {"agent": "agent_001"}}],
    },
    "horizon": 50,
}


def test_exits_arrivals_and_the_horizon_are_reported_as_rllib_expects() -> None:
    env = TownletMultiAgentEnv(LIFECYCLE)
    obs, _ = env.reset(seed=7)
    assert sorted(obs) == ["agent_000", "agent_001", "agent_002", "agent_003"]
    assert set(env.possible_agents) <= set(env.observation_spaces) == set(env.action_spaces)
    left, arrived, seen = [], [], set(obs)
    for tick in range(50):
        obs, rew, term, trunc, _ = env.step(dict.fromkeys(env.agents, 0))
        assert set(rew) <= seen  # no reward before an agent's first observation
        left += [a for a, done in term.items() if done and a != "__all__"]
        new = [a for a in obs if a not in seen]
        arrived += new
        seen |= set(obs)
        for agent in new:
            assert env.observation_spaces[agent].contains(obs[agent])
        if tick < 49:
            assert not term["__all__"] and not trunc["__all__"]
    assert left == ["agent_001"] and arrived == ["agent_004"]
    assert trunc["__all__"] and not term["__all__"] and env.agents == []


def test_seeds_pass_through() -> None:
    a, b = TownletMultiAgentEnv(LIFECYCLE), TownletMultiAgentEnv(LIFECYCLE)
    first, second = a.reset(seed=11)[0], b.reset(seed=11)[0]
    other = b.reset(seed=12)[0]
    assert all(np.array_equal(first[k], second[k]) for k in first)
    assert any(not np.array_equal(first[k], other[k]) for k in first)
    assert a.render() is None  # no argument, no render mode: nothing drawn


def test_unknown_env_config_keys_are_named() -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        TownletMultiAgentEnv({"horizont": 5})


def test_rllib_ppo_trains_one_iteration_through_exits_and_arrivals(ray_runtime: Any) -> None:
    config = (
        shared_policy_ppo_config(LIFECYCLE)
        .env_runners(num_env_runners=0)
        .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
        .debugging(seed=0)
    )
    algo = config.build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    sampled = result["env_runners"]["num_agent_steps_sampled"]
    assert result["env_runners"]["num_env_steps_sampled"] >= 200
    assert 0 < sampled["agent_001"] < sampled["agent_000"]  # left town in every episode
    assert sampled["agent_004"] > 0  # the newcomer acted under the shared policy
    assert np.isfinite(result["env_runners"]["episode_return_mean"])
