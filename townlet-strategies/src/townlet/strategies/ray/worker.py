"""The rollout worker: one Ray actor holding a vector env and a CPU copy of the policy.

The driver creates it (:class:`~townlet.strategies.ray.rollouts.RayRollouts`),
starts it on its seeds, then once per epoch hands it the policy's weights and
gets back its share of the epoch as numpy columns (:class:`WorkerBatch`).
"""

from __future__ import annotations

import os
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt
import torch

from townlet.core.config.models import TownletConfig
from townlet.core.env.vector import VectorTownEnv
from townlet.core.registry import Registry
from townlet.strategies._rollout import DecisionCollector
from townlet.strategies.network import ActorCritic
from townlet.strategies.ray.errors import WorkerNotStarted

__all__ = ["RolloutWorker", "Weights", "WorkerBatch"]

Weights = dict[str, npt.NDArray[Any]]
"""A policy's ``state_dict`` as numpy arrays (what the object store carries)."""


class WorkerBatch(TypedDict):
    """One worker's share of an epoch: decision transitions and rollout statistics."""

    columns: dict[str, npt.NDArray[Any]]
    """:meth:`Transitions.view` columns (``next`` indexes this batch)."""
    groups: npt.NDArray[np.int64]
    """Start index of each tick's transitions (:attr:`Transitions.groups`)."""
    episode_returns: npt.NDArray[np.float64]
    agent_steps: int
    conflicts: int
    conflict_intensity: float


class RolloutWorker:
    """Steps ``towns`` towns (global town indices from ``index · towns``) with the policy.

    Plain class; :class:`~townlet.strategies.ray.rollouts.RayRollouts` turns it
    into an actor. The towns are the ones a local run with as many towns in all
    would hold, so town ``g`` starts from world seed ``seed + g`` there and here.
    """

    def __init__(
        self,
        index: int,
        config: TownletConfig,
        *,
        towns: int,
        horizon: int,
        n_options: int,
        hidden: int,
        lstm: bool,
        gamma: float,
        reward_scale: float,
    ) -> None:
        torch.set_num_threads(1)  # one CPU per worker; the learner is elsewhere
        self.index = index
        self.env = VectorTownEnv(
            towns, config, horizon=horizon, registry=Registry(), town_offset=index * towns
        )
        self.net = ActorCritic(self.env.spec, n_options, hidden=hidden, lstm=lstm)
        self.gamma = gamma
        self.reward_scale = reward_scale
        self.collector: DecisionCollector | None = None

    def start(self, seed: int, episode: int, sampling_seed: int) -> int:
        """Reset the towns with ``seed`` at their ``episode``-th episode and the
        sampling stream with ``sampling_seed``; returns this process's id."""
        self.env.reset(seed=seed)
        self.env.skip_episodes(episode)
        generator = torch.Generator().manual_seed(sampling_seed)
        self.collector = DecisionCollector(
            self.env, self.net, self.gamma, self.reward_scale, generator
        )
        return os.getpid()

    def collect(self, weights: Weights, ticks: int) -> WorkerBatch:
        """Load ``weights`` and roll out ``ticks`` ticks of every town."""
        c = self.collector
        if c is None:
            raise WorkerNotStarted(f"rollout worker {self.index} has not been started")
        # the object store hands out read-only arrays: copy them into the CPU policy
        self.net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
        steps = c.agent_steps
        buf = c.collect(ticks)
        batch = WorkerBatch(
            columns=buf.view(),
            groups=np.asarray(buf.groups, np.int64),
            episode_returns=np.asarray(c.episode_returns, np.float64),
            agent_steps=c.agent_steps - steps,
            conflicts=c.conflicts,
            conflict_intensity=c.conflict_intensity,
        )
        c.episode_returns, c.conflicts, c.conflict_intensity = [], 0, 0.0
        return batch
