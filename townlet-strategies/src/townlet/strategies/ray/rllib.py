"""The town as an RLlib ``MultiAgentEnv`` (new API stack), and PPO with one shared policy.

RLlib's ``ParallelPettingZooEnv`` builds its spaces from the agents present
at reset, so a newcomer arriving later (``agent_008``) has none and the run
fails with a ``KeyError``; it also calls ``render`` with an argument the
town refuses. :class:`TownletMultiAgentEnv` wraps
:class:`~townlet.core.env.TownletParallelEnv` (flat ``Box`` observations,
which RLlib's default encoders take) and:

- gives every name in ``possible_agents`` a space (the same ones), and adds
  names the town appends when more newcomers arrive than it sized for;
- reports an agent's exit as its ``terminated`` (with a zero observation) and
  a newcomer by its first observation (no reward before it), and sets
  ``__all__`` only when the episode is over: ``truncated`` at the horizon,
  ``terminated`` if the town is left empty;
- passes ``reset(seed=...)`` through (RLlib seeds each env runner's env from
  ``config.debugging(seed=...)``), so seeded runs repeat.

:func:`shared_policy_ppo_config` is the example config of docs/scale-out.md::

    from townlet.strategies.ray.rllib import shared_policy_ppo_config

    algo = shared_policy_ppo_config({"overrides": {"features.lifecycle": True}}).build_algo()
    print(algo.train()["env_runners"]["episode_return_mean"])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from townlet.core.env import TownletParallelEnv
from townlet.core.errors import ConfigError

__all__ = ["ENV_CONFIG_KEYS", "SHARED_POLICY", "TownletMultiAgentEnv", "shared_policy_ppo_config"]

ENV_CONFIG_KEYS: Final = ("config", "scenario", "overrides", "encoder", "horizon", "max_newcomers")
"""Keys of ``env_config``, passed to :class:`~townlet.core.env.TownletParallelEnv`."""
SHARED_POLICY: Final = "shared"
"""The module id every citizen maps to in :func:`shared_policy_ppo_config`."""


class TownletMultiAgentEnv(MultiAgentEnv):
    """One town for RLlib's new API stack (see the module docstring).

    ``env_config`` takes :data:`ENV_CONFIG_KEYS` (``config``: a config, YAML
    path or ``builtin:NAME``; ``overrides``: ``{"features.lifecycle": True}``…;
    ``horizon``: ticks per episode, default 1000).
    """

    def __init__(self, env_config: Mapping[str, Any] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        cfg = dict(env_config or {})
        unknown = sorted(set(cfg) - set(ENV_CONFIG_KEYS))
        if unknown:
            raise ConfigError(
                f"env_config: unknown key(s) {', '.join(unknown)} "
                f"(known: {', '.join(ENV_CONFIG_KEYS)})"
            )
        self.env = TownletParallelEnv(
            cfg.get("config"),
            scenario=cfg.get("scenario"),
            overrides=cfg.get("overrides", ()),
            encoder=cfg.get("encoder"),
            horizon=int(cfg.get("horizon", 1000)),
            max_newcomers=cfg.get("max_newcomers"),
            flatten=True,
        )
        self._obs_space = self.env.observation_space("")
        self._act_space = self.env.action_space("")
        self.observation_spaces = {}
        self.action_spaces = {}
        self.possible_agents = []
        self._add_possible()
        self.agents = []

    def _add_possible(self) -> None:
        """Give every name the town may use a space (it appends names past its estimate)."""
        new = self.env.possible_agents[len(self.possible_agents) :]
        if not new:
            return
        self.possible_agents.extend(new)
        self.observation_spaces = {
            **(self.observation_spaces or {}),
            **dict.fromkeys(new, self._obs_space),
        }
        self.action_spaces = {**(self.action_spaces or {}), **dict.fromkeys(new, self._act_space)}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[Any, Any], dict[Any, Any]]:
        """A fresh episode; ``seed`` fixes it (unseeded resets follow the seeded one)."""
        obs, infos = self.env.reset(seed=seed, options=options)
        self._add_possible()
        self.agents = list(self.env.agents)
        return obs, infos

    def step(self, action_dict: dict[Any, Any]) -> tuple[dict[Any, Any], ...]:  # type: ignore[override]
        """One tick: options of the agents in ``action_dict`` (others wait)."""
        before = set(self.agents)
        obs, rew, term, trunc, infos = self.env.step(action_dict)
        self._add_possible()
        self.agents = list(self.env.agents)
        rewards = {a: r for a, r in rew.items() if a in before}  # newcomers start at their obs
        over = not self.agents  # the horizon (the town empties its agents) or nobody left
        horizon = over and any(trunc.values())
        terminateds = {**term, "__all__": over and not horizon}
        truncateds = {**trunc, "__all__": horizon}
        return obs, rewards, terminateds, truncateds, infos

    def render(self) -> Any:
        """An RGB array of the town (``env_config`` cannot set a render mode: None)."""
        return self.env.render()

    def close(self) -> None:
        """Close the town."""
        self.env.close()


def _to_shared(agent_id: Any, episode: Any = None, **kwargs: Any) -> str:
    return SHARED_POLICY


def shared_policy_ppo_config(env_config: Mapping[str, Any] | None = None) -> PPOConfig:
    """RLlib PPO (new API stack) on :class:`TownletMultiAgentEnv` with one policy shared by
    every citizen; adjust it further with RLlib's builder methods (``.env_runners(...)``,
    ``.training(...)``, ``.debugging(seed=...)``)."""
    return (
        PPOConfig()  # type: ignore[no-untyped-call]
        .environment(TownletMultiAgentEnv, env_config=dict(env_config or {}))
        .multi_agent(policies={SHARED_POLICY}, policy_mapping_fn=_to_shared)
    )
