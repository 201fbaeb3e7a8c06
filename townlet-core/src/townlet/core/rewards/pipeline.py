"""The reward pipeline: named stages in order, a breakdown per tick, running stats.

It rewards one town, or several towns of one config at once (a vector env's:
their agent slots end to end as rows, each stage run once over all rows).

Built from ``rewards`` in the config: each entry of ``rewards.stages`` names a
stage plugin (entry point ``townlet.reward_stages``) with its params. Each
tick the pipeline derives the tick's facts once, runs every stage in order
(each sees the total so far and the earlier stages' breakdown), and keeps:

- :attr:`RewardPipeline.breakdown`: each stage's ``[rows]`` contribution;
- :attr:`RewardPipeline.stats`: running mean/std of the rewards of acting
  agents (and :attr:`stage_stats` per stage), for logging;
- with ``rewards.normalise``, the returned rewards are divided by the running
  std (after ``normalise_warmup`` agent-ticks) and clipped to
  ±``normalise_clip``; :attr:`raw` keeps the unnormalised total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from townlet.core.config.models import RewardsConfig, TownletConfig
from townlet.core.ports import RewardStage, TaggedStage
from townlet.core.registry import Registry
from townlet.core.rewards.context import RewardContext, Snapshot, TickFacts, derive_facts
from townlet.core.rewards.stages import SwitchableStage
from townlet.core.rewards.stats import RunningStats, RunningSums
from townlet.core.world.rows import TownRows

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["RewardPipeline"]

_F32 = np.dtype(np.float32)


class RewardPipeline:
    """Runs reward stages in order over the rows of one or more towns (module docstring)."""

    def __init__(
        self,
        stages: Sequence[tuple[str, RewardStage]],
        *,
        normalise: bool = False,
        normalise_warmup: int = 1000,
        normalise_clip: float = 10.0,
    ) -> None:
        labels: list[str] = []
        for name, _ in stages:
            label = name
            k = 2
            while label in labels:
                label = f"{name}#{k}"
                k += 1
            labels.append(label)
        self.labels: tuple[str, ...] = tuple(labels)
        """Stage labels in order (the entry-point name; ``name#2`` for repeats)."""
        self.stages: tuple[RewardStage, ...] = tuple(s for _, s in stages)
        self.tags: dict[str, frozenset[str]] = {
            label: frozenset(stage.tags) if isinstance(stage, TaggedStage) else frozenset()
            for label, stage in zip(self.labels, self.stages, strict=True)
        }
        self.normalise = normalise
        self.normalise_warmup = normalise_warmup
        self.normalise_clip = normalise_clip
        self._sums = RunningSums(len(labels) + 1)
        self._skip: tuple[bool, ...] = (False,) * len(labels)
        self.breakdown: dict[str, npt.NDArray[np.float32]] = {}
        self.raw = np.zeros(0, dtype=np.float32)
        self.facts: TickFacts | None = None
        """Facts of the last tick computed."""
        self._before: Snapshot | None = None
        self._seen: list[int] = []
        self._carried: list[list[dict[str, Any]]] = []
        self._fresh = np.zeros(0, dtype=bool)

    @classmethod
    def from_config(
        cls, config: TownletConfig | RewardsConfig, registry: Registry | None = None
    ) -> RewardPipeline:
        """Build every stage ``rewards.stages`` names, through the registry."""
        rewards = config.rewards if isinstance(config, TownletConfig) else config
        registry = registry or Registry()
        stages = [
            (
                choice.name.rpartition(":")[2],
                registry.build("reward_stages", choice.name, choice.params),
            )
            for choice in rewards.stages
        ]
        return cls(
            stages,
            normalise=rewards.normalise,
            normalise_warmup=rewards.normalise_warmup,
            normalise_clip=rewards.normalise_clip,
        )

    def reset(self, worlds: World | Sequence[World]) -> None:
        """Start an episode in every town (stats keep accumulating).

        ``worlds`` is one town or several of one config (a vector env's),
        rewarded together with their slots end to end as rows.
        """
        rows = TownRows.of(worlds)
        config = rows.config
        self._skip = tuple(
            isinstance(stage, SwitchableStage) and not stage.enabled(config)
            for stage in self.stages
        )
        self._before = Snapshot.of(rows)
        self._seen = [len(w.events) for w in rows.worlds]
        self._carried = [[] for _ in rows.worlds]
        self._fresh = np.ones(rows.n_agents, dtype=bool)
        self.breakdown = {label: np.zeros(rows.n_agents, np.float32) for label in self.labels}
        self.raw = np.zeros(rows.n_agents, dtype=np.float32)

    def reset_town(self, t: int, world: World, span: slice) -> None:
        """Town ``t`` (rows ``span``) starts a new episode in ``world``; the others go on."""
        if self._before is None:
            raise RuntimeError("RewardPipeline.reset(worlds) must be called before reset_town()")
        self._before.patch(span, TownRows((world,)))
        self._seen[t] = len(world.events)
        self._carried[t] = []
        self._fresh[span] = True

    def carry_over(self, worlds: World | Sequence[World]) -> None:
        """Keep events logged since the last tick (e.g. a console exit) for the next one.

        Call just before stepping the worlds, which clears ``world.events``.
        """
        for t, world in enumerate(worlds if isinstance(worlds, Sequence) else (worlds,)):
            self._carried[t].extend(world.events[self._seen[t] :])
            self._seen[t] = len(world.events)

    def compute(self, worlds: World | Sequence[World] | TownRows) -> npt.NDArray[np.float32]:
        """``[rows]`` rewards of the tick the towns just simulated.

        Call once after every step of the towns. Rows that did not act (empty,
        or a newcomer arriving this tick) get 0. ``worlds`` may be the towns'
        rows as they are after the tick, when the caller reads them too.
        """
        if self._before is None:
            raise RuntimeError("RewardPipeline.reset(world) must be called before compute()")
        rows_of = worlds if isinstance(worlds, TownRows) else TownRows.of(worlds)
        n = rows_of.n_agents
        if n != self._fresh.size:
            raise ValueError(f"the pipeline was reset with {self._fresh.size} rows, got {n}")
        facts = derive_facts(rows_of, self._before, self._carried, self._fresh)
        if any(self._carried):
            self._carried = [[] for _ in rows_of.worlds]
        if np.count_nonzero(self._fresh):
            self._fresh = np.zeros(n, dtype=bool)
        shape = (n,)
        # one row per stage and a last row for the total: the stats take it whole
        rows = np.zeros((len(self.stages) + 1, n), dtype=np.float32)
        total: npt.NDArray[np.float32] = rows[-1]
        breakdown: dict[str, npt.NDArray[np.float32]] = {}
        view = total.view()
        view.flags.writeable = False
        ctx = RewardContext(
            towns=rows_of, facts=facts, total=view, breakdown=breakdown, tags=self.tags
        )
        stages = zip(rows[:-1], self.labels, self.stages, self._skip, strict=True)
        for row, label, stage, skip in stages:
            # a disabled stage's row stays +0, which would not change the total: it
            # starts at +0 and so is never -0
            if not skip:
                part = stage.compute(ctx)
                if part.dtype is not _F32 or part.shape != shape:
                    part = np.asarray(part, dtype=np.float32)
                    if part.shape != (n,):
                        raise ValueError(
                            f"reward stage {label!r} returned {part.shape}, want ({n},)"
                        )
                row[:] = part
                total += row
            breakdown[label] = row
        acted = facts.acted
        if np.count_nonzero(acted) != n:
            rows *= acted
        self._sums.add(rows, acted)
        self.breakdown = breakdown
        self.raw = total.copy()
        self.facts = facts
        self._before = Snapshot.of(rows_of, facts)
        self._seen = [len(w.events) for w in rows_of.worlds]
        if self.normalise and self._sums.count >= self.normalise_warmup:
            scale = 1.0 / max(self.stats.std, 1e-8)
            np.clip(total * scale, -self.normalise_clip, self.normalise_clip, out=total)
        return total

    @property
    def stats(self) -> RunningStats:
        """Running stats of the (raw) total reward of acting agents."""
        return self._sums.series(len(self.labels))

    @property
    def stage_stats(self) -> dict[str, RunningStats]:
        """Running stats of each stage's contribution, by label."""
        return {label: self._sums.series(i) for i, label in enumerate(self.labels)}

    def summary(self) -> Mapping[str, Mapping[str, float]]:
        """Running mean/std/count of the total and of each stage (for logging)."""
        out: dict[str, Mapping[str, float]] = {"total": self.stats.as_dict()}
        out.update({label: s.as_dict() for label, s in self.stage_stats.items()})
        return out
