"""What capture and evaluation share: driving policies over a vector env,
per-agent episode returns, and each episode's KPIs read on its last tick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.env.vector import VectorTownEnv
from townlet.core.hookspecs import hookimpl
from townlet.core.ports import BatchPolicy, Policy
from townlet.core.registry import Registry
from townlet.core.world.rows import TownRows
from townlet.core.world.world import World

__all__ = ["EPISODE_KPIS", "AgentReturns", "EpisodeEnds", "PolicyDriver"]

EPISODE_KPIS: Final = (
    "self_sufficiency",
    "attendance",
    "lateness",
    "conflicts",
    "conflict_intensity",
    "chats",
    "exits",
)
"""KPIs of ``World.kpi_values()`` kept per episode."""


class PolicyDriver:
    """Acts for every town of a vector env: one ``act_many`` call for a batch
    policy, else one policy instance per town (each with its town's state)."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.policies = list(policies)
        self.batched = len(self.policies) == 1 and isinstance(self.policies[0], BatchPolicy)

    @classmethod
    def build(
        cls,
        registry: Registry,
        name: str,
        params: Mapping[str, Any] | None,
        towns: int,
    ) -> PolicyDriver:
        """The Policy plugin ``name`` with ``params``, enough instances for ``towns``."""
        first = registry.build("policies", name, params)
        if isinstance(first, BatchPolicy) or towns == 1:
            return cls([first])
        return cls([first, *(registry.build("policies", name, params) for _ in range(towns - 1))])

    def reset(self, worlds: Sequence[World], towns: Sequence[int] | None = None) -> None:
        """Start episodes: reset the policy of each town in ``towns`` (default all)
        with its world's policy RNG stream. A batch policy is reset with the first
        town's stream when every town starts, and left running otherwise."""
        if self.batched:
            if towns is None:
                self.policies[0].reset(worlds[0], worlds[0].rng.policy)
            return
        for t in range(len(worlds)) if towns is None else towns:
            self.policies[t].reset(worlds[t], worlds[t].rng.policy)

    def act(self, worlds: Sequence[World]) -> npt.NDArray[np.int64]:
        """One option per row of every town."""
        if self.batched:
            batch: BatchPolicy = self.policies[0]  # type: ignore[assignment]
            return batch.act_many(TownRows(worlds))
        return np.concatenate([p.act(w) for p, w in zip(self.policies, worlds, strict=True)])


class AgentReturns:
    """Per-agent episode returns over the rows of a vector env.

    A row's return sums the rewards of the agent in it, from its first tick
    in town (episode start or arrival) to its exit or the episode's end. The
    reward of a step belongs to the agent that acted in it; an agent arriving
    in a row starts afresh.
    """

    def __init__(self, rows: int, slots: int) -> None:
        self.slots = slots
        self.acc = np.zeros(rows, dtype=np.float64)
        self.open = np.zeros(rows, dtype=bool)
        self.closed: list[list[float]] = [[] for _ in range(rows // slots)]

    def start(self, town: int, alive: npt.NDArray[np.bool_]) -> None:
        """Town ``town`` begins an episode; ``alive``: every row's occupancy."""
        rows = slice(town * self.slots, (town + 1) * self.slots)
        self.acc[rows] = 0.0
        self.open[rows] = alive[rows]
        self.closed[town] = []

    def step(
        self,
        rewards: npt.NDArray[np.float32],
        acted: npt.NDArray[np.bool_],
        exited: npt.NDArray[np.bool_],
        spawned: npt.NDArray[np.bool_],
    ) -> None:
        """Add one step's rewards; close the returns of agents who exited."""
        self.acc[acted] += rewards[acted]
        for row in np.flatnonzero(exited & self.open).tolist():
            self.closed[row // self.slots].append(float(self.acc[row]))
        self.open[exited] = False
        self.acc[spawned] = np.where(acted[spawned], 0.0, rewards[spawned])
        self.open[spawned] = True

    def finish(self, town: int) -> list[float]:
        """The returns of every agent-episode of ``town``'s episode, which ends now."""
        rows = slice(town * self.slots, (town + 1) * self.slots)
        out: list[float] = self.closed[town] + self.acc[rows][self.open[rows]].tolist()
        self.closed[town] = []
        self.open[rows] = False
        return out


class EpisodeEnds:
    """A hook plugin that keeps each world's KPIs on the last tick of its episode.

    The vector env replaces a town's world in the step that reaches the
    horizon, so the KPIs are read from the ``on_tick`` hook, before that.
    """

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon
        self._kpis: dict[int, dict[str, float]] = {}

    @hookimpl
    def on_tick(self, world: Any, tick: int) -> None:
        """Record the KPIs of ``world`` when its last tick completes."""
        if tick + 1 >= self.horizon:
            self._kpis[id(world)] = _episode_kpis(world)

    def pop(self, world: World) -> dict[str, float]:
        """The KPIs of ``world`` at its episode's end (now, if it has not ended)."""
        return self._kpis.pop(id(world), None) or _episode_kpis(world)

    @classmethod
    def attach(cls, venv: VectorTownEnv) -> EpisodeEnds:
        """A probe for ``venv``'s horizon, registered with its hook plugins."""
        probe = cls(venv.horizon)
        venv.runtime.plugins.register(probe)
        return probe


def _episode_kpis(world: World) -> dict[str, float]:
    kpis = world.kpi_values()
    return {name: float(kpis[name]) for name in EPISODE_KPIS}
