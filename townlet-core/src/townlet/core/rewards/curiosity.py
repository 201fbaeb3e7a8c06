"""``curiosity``: a small count-based novelty bonus, decayed to zero over training.

An agent earns ``scale / sqrt(n)`` for standing on a tile for the ``n``-th
time in its life, times a factor that falls linearly from 1 to 0 over
``decay_ticks`` ticks counted by this stage instance across episodes (so it
fades as training goes on). Not in the default pipeline.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from townlet.core.ports import PluginParams, RewardContextView
from townlet.core.rewards.stages import RewardStageBase

__all__ = ["CuriosityParams", "CuriosityStage"]


class CuriosityParams(PluginParams):
    """Parameters of ``curiosity``."""

    scale: float = Field(0.01, ge=0, le=0.1, description="Bonus on a first visit (0..0.1).")
    decay_ticks: int = Field(
        1_000_000, ge=1, le=10**10, description="Ticks over which the bonus fades to 0 (1..1e10)."
    )


class CuriosityStage(RewardStageBase[CuriosityParams]):
    """Count-based exploration bonus that fades to zero."""

    Params: ClassVar[type[BaseModel]] = CuriosityParams

    def __init__(self, params: CuriosityParams) -> None:
        super().__init__(params)
        self.ticks_seen = 0
        self._visits = np.zeros((0, 0, 0), dtype=np.int32)

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Novelty bonus of the tile each agent stands on."""
        p = self.params
        f = ctx.facts
        factor = max(0.0, 1.0 - self.ticks_seen / p.decay_ticks)
        self.ticks_seen += 1
        out = np.zeros(ctx.n, dtype=np.float32)
        if factor <= 0.0:
            return out
        if self._visits.shape[0] != ctx.n:
            self._visits = np.zeros((ctx.n, *ctx.towns.town.shape), dtype=np.int32)
        self._visits[f.spawned | f.fresh] = 0  # a new life or episode: fresh visit counts
        xy = ctx.towns.agents.xy
        rows = np.flatnonzero(f.acted & ~f.exited)
        ys, xs = xy[rows, 1], xy[rows, 0]
        self._visits[rows, ys, xs] += 1
        out[rows] = p.scale * factor / np.sqrt(self._visits[rows, ys, xs])
        return out
