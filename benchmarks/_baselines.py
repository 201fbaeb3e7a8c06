"""Third-party PPO runners for ``bench_train.py --compare``: SB3 (via SuperSuit) and RLlib.

Both train on one town through :class:`~townlet.core.env.TownletParallelEnv`
(``flatten=True``: one ``Box`` per agent, one shared policy for all agents)
and neither sees the action mask: a masked option is ignored by the town,
which is what these libraries' stock PPO can do with it. The libraries are
optional (``requirements-bench.txt``) and imported only inside the runners.

``pettingzoo_return`` scores a trained model the way
:func:`townlet.core.training.evaluate.evaluate` scores a plugin: episode
``e`` is a fresh world with seed ``seed + e`` run for ``ticks`` ticks, an
agent's return is the sum of its rewards, and the score is the mean over
agent-episodes. On a town without the lifecycle (a fixed agent set) the
worlds and the rewards are the same as ``evaluate``'s, so the two compare.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.config import TownletConfig
from townlet.core.env.parallel import TownletParallelEnv
from townlet.core.world.options import Option

INSTALL = "pip install -r requirements-bench.txt -c constraints.txt"
LIBRARIES = {
    "sb3": ("Stable-Baselines3 + SuperSuit", ("stable_baselines3", "supersuit")),
    "rllib": ("RLlib", ("ray",)),
}
"""Runner name: (label, modules it needs)."""

Act = Callable[[npt.NDArray[np.float32], npt.NDArray[np.int8]], npt.NDArray[np.int64]]
"""A policy: flat observations ``[agents, size]`` and option masks ``[agents, 7]``
to options ``[agents]`` (the third-party ones ignore the masks)."""


@dataclass(frozen=True)
class Trained:
    """A third-party training run: its policy, agent-steps and times."""

    act: Act
    agent_steps: int
    wall_s: float
    cpu_s: float


def missing(name: str) -> list[str]:
    """The modules of runner ``name`` that are not importable."""
    return [m for m in LIBRARIES[name][1] if importlib.util.find_spec(m) is None]


def pettingzoo_return(
    config: TownletConfig, act: Act, *, episodes: int, seed: int, ticks: int
) -> float:
    """Mean per-agent episode return of ``act`` on ``episodes`` held-out worlds."""
    env = TownletParallelEnv(config, flatten=True, horizon=ticks)
    returns: list[float] = []
    for e in range(episodes):
        obs, infos = env.reset(seed=seed + e)
        totals = dict.fromkeys(env.agents, 0.0)
        for _ in range(ticks):
            agents = env.agents
            masks = np.stack([infos[a]["action_mask"] for a in agents])
            actions = act(np.stack([obs[a] for a in agents]), masks)
            obs, rewards, _, _, infos = env.step(dict(zip(agents, actions.tolist(), strict=True)))
            for agent, r in rewards.items():
                totals[agent] = totals.get(agent, 0.0) + r
        returns.extend(totals.values())
    return float(np.mean(returns))


def always_wait(obs: npt.NDArray[np.float32], masks: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
    """Every agent waits: deterministic, so this loop must give exactly ``evaluate``'s
    return for ``random`` with ``options: [wait]`` (a check that both meet the same worlds)."""
    return np.full(len(obs), int(Option.WAIT), dtype=np.int64)


def train_sb3(config: TownletConfig, steps: int, *, towns: int, ticks: int, seed: int) -> Trained:
    """SB3 PPO (``MlpPolicy``) on ``towns`` copies of the town, ``steps`` agent-steps.

    SuperSuit turns each town's agents into vector-env slots
    (``pettingzoo_env_to_vec_env_v1``) and concatenates ``towns`` of them
    (``concat_vec_envs_v1``, in process). Rollouts of 250 steps per slot and
    4 epochs of 4 minibatches mirror ``ppo``'s batch shape; the rest are SB3's
    defaults.
    """
    import supersuit as ss
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.utils import set_random_seed

    set_random_seed(seed)
    env = TownletParallelEnv(config, flatten=True, horizon=ticks)
    vec = ss.pettingzoo_env_to_vec_env_v1(env)
    vec = ss.concat_vec_envs_v1(vec, towns, num_cpus=0, base_class="stable_baselines3")
    n_steps = 250
    batch = n_steps * vec.num_envs
    model = PPO("MlpPolicy", vec, n_steps=n_steps, batch_size=batch // 4, n_epochs=4, verbose=0)
    start, cpu = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=steps)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    vec.close()

    def act(obs: npt.NDArray[np.float32], _: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
        with torch.no_grad():
            actions, _ = model.predict(obs, deterministic=False)
        return np.asarray(actions, dtype=np.int64)

    return Trained(act, int(model.num_timesteps), wall, cpu)


def train_rllib(config: TownletConfig, steps: int, *, ticks: int, seed: int) -> Trained:
    """RLlib PPO, one shared policy, ``ParallelPettingZooEnv``, no remote runners.

    Sampling runs in the driver (``num_env_runners=0``). Batches of 2,000
    town steps (16,000 agent-steps with 8 citizens, one ``ppo`` epoch), 4
    epochs of 4 minibatches mirror ``ppo``'s batch shape (RLlib's defaults, 30
    epochs of 128-step minibatches, take minutes per batch here); the rest are
    RLlib's defaults. Training stops at the first iteration that reaches ``steps``
    agent-steps.
    """
    import ray
    import torch
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.columns import Columns
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    from ray.tune.registry import register_env

    agents = config.world.agents
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    register_env(
        "townlet",
        lambda _: ParallelPettingZooEnv(TownletParallelEnv(config, flatten=True, horizon=ticks)),
    )
    algo = (
        PPOConfig()
        .environment("townlet")
        .env_runners(num_env_runners=0)
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda *_a, **_k: "shared")
        .training(train_batch_size_per_learner=2000, minibatch_size=500, num_epochs=4)
        .debugging(seed=seed)
        .build_algo()
    )
    start, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < steps:
        result = algo.train()
        done = int(result["env_runners"]["num_env_steps_sampled_lifetime"]) * agents
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    module = algo.get_module("shared")
    dist_cls = module.get_inference_action_dist_cls()

    def act(obs: npt.NDArray[np.float32], _: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
        with torch.no_grad():
            out = module.forward_inference({Columns.OBS: torch.from_numpy(obs)})
            dist = dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
            return dist.sample().numpy().astype(np.int64)

    return Trained(act, done, wall, cpu)


def run(name: str, config: TownletConfig, steps: int, **kw: Any) -> Trained:
    """Train with runner ``name`` (``sb3`` or ``rllib``)."""
    if name == "sb3":
        return train_sb3(config, steps, **kw)
    kw.pop("towns", None)
    return train_rllib(config, steps, **kw)
