"""The PettingZoo ``ParallelEnv`` of one town.

Agents are named by their town id (``agent_000``, …). Each step takes a dict
of options (ints, see ``townlet.core.world.options.OPTIONS``) for the living
agents and returns per-agent dicts:

- observations as the encoder's spec says (a ``Dict`` of components, or one
  flat ``Box``; optionally with the action mask inside);
- ``infos[agent]["action_mask"]``: the int8 option mask for the next step
  (in the observation instead with ``mask_in_obs=True``, never in both: a
  library that reads both, like TorchRL, would take it twice);
  ``infos[agent]["possessed"]``: the agent was driven from the operator
  console this step (leave its transition out of training data);
- ``terminations[agent]`` is True on the step the agent leaves town (the
  others continue); ``truncations`` are True for everyone at the horizon;
- newcomers appear in ``agents`` (and in that step's dicts) when they arrive;
  :attr:`TownletParallelEnv.agent_slots` and
  :attr:`TownletParallelEnv.slot_agents` map agents to their slots (rows of
  the town's arrays) and back.

``reset(seed=s)`` builds a fresh world with seed ``s``, so the same seed and
actions give the same episode; later unseeded resets draw their seeds from a
generator seeded by ``s``. A first ``reset()`` without a seed takes a fresh
one from the operating system, so copies of an env play different towns.
Stepping after the horizon raises: ``reset()`` starts the next episode.
``render()`` returns an RGB array. :mod:`townlet.core.env.slots` is the
fixed-slot view (``slot_0`` … always present) for libraries that need it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from pettingzoo import ParallelEnv

from townlet.core.env._town import (
    ConfigSource,
    StepResult,
    Town,
    fresh_seed,
    resolve_config,
    step_towns,
)
from townlet.core.env.render import render_rgb
from townlet.core.env.spaces import action_space, observation_space
from townlet.core.observations.spec import ObservationSpec
from townlet.core.registry import Registry
from townlet.core.rewards.pipeline import RewardPipeline
from townlet.core.runtime import build_runtime
from townlet.core.world.options import OPTIONS, Option
from townlet.core.world.world import World

__all__ = ["TownletParallelEnv"]

AgentID = str
Obs = Any
StepOutput = tuple[
    dict[AgentID, Obs],
    dict[AgentID, float],
    dict[AgentID, bool],
    dict[AgentID, bool],
    dict[AgentID, dict[str, Any]],
]
"""Observations, rewards, terminations, truncations and infos by agent."""


class TownletParallelEnv(ParallelEnv[AgentID, Obs, int]):  # type: ignore[misc]
    """One town as a PettingZoo parallel env (see the module docstring).

    ``TownletParallelEnv()`` is the default town. ``config`` may be a config
    object, a YAML path or ``builtin:NAME``; ``scenario`` names a scenario
    plugin; ``overrides`` (``["world.agents=4"]`` or ``{"world.agents": 4}``)
    apply on top. ``encoder`` overrides ``observations.encoder``.
    ``horizon`` is the episode length in ticks. ``max_newcomers`` sizes
    ``possible_agents`` (default: the lifecycle's exit cap over the horizon, at
    most 1024; later arrivals are appended).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "townlet_v0",
        "render_modes": ["rgb_array"],
        "render_fps": 4,
        "is_parallelizable": True,
    }

    def __init__(
        self,
        config: ConfigSource = None,
        *,
        scenario: str | None = None,
        overrides: Sequence[str] | Mapping[str, Any] = (),
        encoder: str | None = None,
        horizon: int = 1000,
        flatten: bool = False,
        mask_in_obs: bool = False,
        info_rewards: bool = False,
        max_newcomers: int | None = None,
        render_mode: str | None = None,
        registry: Registry | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        cfg = resolve_config(
            config, scenario=scenario, overrides=overrides, encoder=encoder, registry=registry
        )
        self.runtime = build_runtime(
            cfg, registry, encoder=True, encoder_defaults={"horizon": horizon}, rewards=True
        )
        """Hook plugins, agent storage, encoder and reward pipeline of the town."""
        assert self.runtime.rewards is not None  # requested above
        self.town = Town(self.runtime, horizon=horizon)
        self.pipeline: RewardPipeline = self.runtime.rewards
        self.config = cfg
        self.horizon = horizon
        self.flatten = flatten
        self.mask_in_obs = mask_in_obs
        self.info_rewards = info_rewards
        self.render_mode = render_mode
        self._obs_space = observation_space(self.spec, flatten=flatten, mask_in_obs=mask_in_obs)
        self._act_space = action_space()
        n = cfg.world.agents
        if max_newcomers is None:
            days = math.ceil(horizon / cfg.world.ticks_per_day)
            lifecycle = getattr(cfg.world, "lifecycle", None)
            cap = int(getattr(lifecycle, "max_exits_per_day", 2))
            max_newcomers = min(cap * days, 1024) if cfg.features.lifecycle else 0
        self.possible_agents: list[AgentID] = [f"agent_{k:03d}" for k in range(n + max_newcomers)]
        self.agents: list[AgentID] = []
        self._slot_of: dict[AgentID, int] = {}
        self._seeds: np.random.Generator | None = None
        self._finished = False
        self._options = np.zeros(n, dtype=np.int64)
        self._no_actions = np.zeros(len(OPTIONS), dtype=np.int8)

    # -- spaces ------------------------------------------------------------

    @property
    def spec(self) -> ObservationSpec:
        """The observation encoder's spec."""
        return self.town.encoder.spec

    def observation_space(self, agent: AgentID) -> spaces.Space[Any]:
        """The same space object for every agent."""
        return self._obs_space

    def action_space(self, agent: AgentID) -> spaces.Space[Any]:
        """``Discrete(7)``: one option per step; masked options are ignored by the town."""
        return self._act_space

    # -- episode -------------------------------------------------------------

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[AgentID, Obs], dict[AgentID, dict[str, Any]]]:
        """Start an episode in a fresh world; ``seed`` fixes it (and later unseeded resets).

        Without a seed: the next seed of the last seeded reset's generator, or
        on a first reset a fresh seed (see the module docstring);
        ``env.town.seed`` is the world seed in use.
        """
        world = self._reset_world(seed)
        self._sync_agents()
        self._extend_possible(self.agents)
        rows, masks = self._row_views(self.town.encode(), world.action_masks().astype(np.int8))
        obs = {agent: rows[slot] for agent, slot in self._slot_of.items()}
        infos = {agent: self._info(masks[slot], False) for agent, slot in self._slot_of.items()}
        return obs, infos

    def _reset_world(self, seed: int | None) -> World:
        """Pick the episode's world seed, build the world, restart the rewards."""
        if seed is not None:
            self._seeds = np.random.default_rng(seed)
            world_seed = int(seed)
        elif self._seeds is None:
            world_seed = fresh_seed()
            self._seeds = np.random.default_rng(world_seed)
        else:
            world_seed = int(self._seeds.integers(2**31 - 1))
        world = self.town.reset(world_seed)
        self.pipeline.reset(world)
        self._finished = False
        return world

    def _check_steppable(self) -> None:
        if self.town.world is None:
            raise RuntimeError("reset() the env before stepping it")
        if self._finished:
            raise RuntimeError(
                f"the episode ended at the horizon (tick {self.town.world.tick}); "
                "call reset() to start the next one before stepping again"
            )

    def _info(self, mask: npt.NDArray[np.int8], possessed: bool) -> dict[str, Any]:
        if self.mask_in_obs:
            return {"possessed": possessed}
        return {"action_mask": mask, "possessed": possessed}

    def step(self, actions: Mapping[AgentID, Any]) -> StepOutput:
        """Apply one option per living agent (missing ones wait) and advance one tick.

        Raises ``RuntimeError`` once the episode has reached its horizon.
        """
        self._check_steppable()
        opts = self._options
        opts.fill(Option.WAIT)
        slot_of = self._slot_of
        for agent, action in actions.items():
            slot = slot_of.get(agent)
            if slot is not None:
                opts[slot] = int(action)
        result = step_towns([self.town], opts, self.pipeline)
        return self._outputs(result, slot_of)

    def _outputs(self, result: StepResult, before: dict[AgentID, int]) -> StepOutput:
        """The step's dicts; ``before``: the slot of each agent alive before the tick
        (an agent keeps its slot for as long as it stays)."""
        world = self.town.world
        assert world is not None
        slots = list(before.values())
        # most ticks nobody leaves or arrives: the agents and their slots stay as they were
        same = not result.terminated.any() and np.flatnonzero(world.agents.alive).tolist() == slots
        newcomers: list[AgentID] = []
        if not same:
            self._sync_agents()
            newcomers = [a for a in self.agents if a not in before]
            self._extend_possible(newcomers)
        # the rewards' view of the town after the tick: encoding and masks reuse the
        # per-row values it has built (ticks, town index)
        town_rows = result.rows
        arrays = self.town.encode(rows=town_rows)
        rows, masks = self._row_views(arrays, world.action_masks(town_rows).astype(np.int8))
        rewards = result.rewards.tolist()
        possessed = result.possessed.tolist()
        trunc = result.truncated[0]
        terms = self.pipeline.breakdown if self.info_rewards else None
        if same:
            obs = {agent: rows[slot] for agent, slot in before.items()}
            rew = {agent: rewards[slot] for agent, slot in before.items()}
            terminations = dict.fromkeys(before, False)
            truncations = dict.fromkeys(before, trunc)
            if self.mask_in_obs:
                infos = {agent: {"possessed": possessed[slot]} for agent, slot in before.items()}
            else:
                infos = {
                    agent: {"action_mask": masks[slot], "possessed": possessed[slot]}
                    for agent, slot in before.items()
                }
        else:
            term = result.terminated.tolist()
            obs, rew, terminations, truncations, infos = {}, {}, {}, {}, {}
            for agent, slot in before.items():
                gone = term[slot]
                obs[agent] = self._zero_obs() if gone else rows[slot]
                rew[agent] = rewards[slot]
                terminations[agent] = gone
                truncations[agent] = trunc and not gone
                mask = self._no_actions.copy() if gone else masks[slot]
                infos[agent] = self._info(mask, possessed[slot])
            for agent in newcomers:
                slot = self._slot_of[agent]
                obs[agent] = rows[slot]
                rew[agent] = 0.0
                terminations[agent] = False
                truncations[agent] = trunc
                infos[agent] = self._info(masks[slot], False)
        if terms is not None:
            for agent, slot in before.items():
                infos[agent]["rewards"] = {label: float(v[slot]) for label, v in terms.items()}
        if trunc:
            self.agents = []
            self._slot_of = {}
            self._finished = True
        return obs, rew, terminations, truncations, infos

    def _row_views(
        self, arrays: Mapping[str, npt.NDArray[np.float32]], masks: npt.NDArray[np.int8]
    ) -> tuple[list[Obs], list[npt.NDArray[np.int8]]]:
        """The observation and the mask of every slot, as views into this step's arrays."""
        # iterating an array yields its rows: one view per slot (and component); every
        # array has a row per slot, so the zips need no strict check (which doubles their cost)
        mask_rows = list(masks)
        if self.flatten:
            flat = list(self.spec.flatten(dict(arrays)))
            if self.mask_in_obs:
                pairs = zip(flat, mask_rows, strict=False)
                return [{"observation": f, "action_mask": m} for f, m in pairs], mask_rows
            return flat, mask_rows
        names = self.spec.names
        comps = [arrays[name] for name in names]
        rows: list[dict[str, Any]] = [
            dict(zip(names, values, strict=False)) for values in zip(*comps, strict=False)
        ]
        if self.mask_in_obs:
            for o, m in zip(rows, mask_rows, strict=False):
                o["action_mask"] = m
        return rows, mask_rows

    def _zero_obs(self) -> Obs:
        """The observation of an agent that has just left: all zeros, nothing allowed."""
        if self.flatten:
            flat = np.zeros(self.spec.size, dtype=np.float32)
            if self.mask_in_obs:
                return {"observation": flat, "action_mask": self._no_actions.copy()}
            return flat
        o: dict[str, Any] = {c.name: np.zeros(c.shape, dtype=c.dtype) for c in self.spec.components}
        if self.mask_in_obs:
            o["action_mask"] = self._no_actions.copy()
        return o

    def _sync_agents(self) -> None:
        world = self.town.world
        assert world is not None
        alive = world.agents.alive
        ids = world.agent_ids
        self._slot_of = {ids[i]: int(i) for i in np.flatnonzero(alive)}
        self.agents = list(self._slot_of)

    def _extend_possible(self, agents: list[AgentID]) -> None:
        known = set(self.possible_agents)
        self.possible_agents.extend(a for a in agents if a not in known)

    # -- agents and slots -------------------------------------------------------

    @property
    def agent_slots(self) -> Mapping[AgentID, int]:
        """The slot of every living agent: its row in the town's arrays (``world.agents``,
        ``env.town.encode()``). Read-only; it follows ``agents`` from step to step."""
        return MappingProxyType(self._slot_of)

    @property
    def slot_agents(self) -> list[AgentID | None]:
        """The agent in each slot now (``None`` where the slot is empty: its agent left
        and no newcomer has come yet); ``[]`` before :meth:`reset`."""
        world = self.town.world
        if world is None:
            return []
        alive = world.agents.alive
        return [aid if alive[i] else None for i, aid in enumerate(world.agent_ids)]

    # -- extras ---------------------------------------------------------------

    def action_mask(self, agent: AgentID) -> npt.NDArray[np.int8]:
        """The option mask of a living agent for the next step."""
        world = self.town.world
        assert world is not None
        mask: npt.NDArray[np.int8] = world.action_masks()[self._slot_of[agent]].astype(np.int8)
        return mask

    def render(self) -> npt.NDArray[np.uint8] | None:
        """An RGB array of the town (``render_mode="rgb_array"``), else None."""
        if self.render_mode != "rgb_array" or self.town.world is None:
            return None
        return render_rgb(self.town.world)

    def close(self) -> None:
        """Nothing to release."""

    def state(self) -> npt.NDArray[np.float32]:
        """Global state: every slot's flat observation, concatenated."""
        world = self.town.world
        if world is None:
            raise RuntimeError("reset() the env first")
        return self.spec.flatten(dict(self.town.encode())).ravel()
