"""Guardrail stages: corrections of the running total, applied after the terms.

- ``social_floor``: social terms count for nothing while any need deficit of
  the agent exceeds the floor (0.85): needs come first.
- ``death_guard``: no positive reward on the tick an agent exits, nor while it
  is within ``window`` ticks of having been in the danger zone (a need
  deficit at or above ``danger``). Every collapse or neglect exit is preceded
  by a stretch in that zone, so the run-up to leaving town never pays.
- ``clip``: the per-tick total (less terms tagged ``terminal``, whose
  penalties always pass) is clipped to ±``tick``, then each agent's episode
  return is kept within ±``episode``. Counts clipped agent-ticks.
"""

from __future__ import annotations

from typing import ClassVar, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from townlet.core.ports import PluginParams, RewardContextView
from townlet.core.rewards.stages import RewardStageBase

__all__ = [
    "ClipParams",
    "ClipStage",
    "DeathGuardParams",
    "DeathGuardStage",
    "SocialFloorParams",
    "SocialFloorStage",
]


class SocialFloorParams(PluginParams):
    """Parameters of ``social_floor``."""

    deficit: float = Field(
        0.85, gt=0, le=1, description="Above this need deficit social terms are ignored (0..1]."
    )
    tag: str = Field("social", min_length=1, description="Tag of the stages to switch off.")


class SocialFloorStage(RewardStageBase[SocialFloorParams]):
    """Cancel the social terms of agents whose worst need deficit exceeds the floor."""

    Params: ClassVar[type[BaseModel]] = SocialFloorParams

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Minus the tagged contributions of agents in need."""
        p = self.params
        needy = ctx.facts.worst_deficit > p.deficit
        # -1 where needy, else -0 (bool times -1): the product is minus the tagged terms
        out = ctx.tagged(p.tag) * (needy * np.float32(-1.0))
        return cast("npt.NDArray[np.float32]", out)


class DeathGuardParams(PluginParams):
    """Parameters of ``death_guard``."""

    window: int = Field(
        10, ge=0, le=10_000, description="Ticks after danger with no gain (0..10^4)."
    )
    danger: float = Field(
        0.9, gt=0, le=1, description="Need deficit that marks the danger zone (0..1]."
    )


class DeathGuardStage(RewardStageBase[DeathGuardParams]):
    """No positive reward at an exit or within ``window`` ticks of the danger zone."""

    Params: ClassVar[type[BaseModel]] = DeathGuardParams

    def __init__(self, params: DeathGuardParams) -> None:
        super().__init__(params)
        self._last_danger = np.zeros(0, dtype=np.int64)

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Minus the positive part of the total where the guard applies."""
        p = self.params
        f = ctx.facts
        ticks = ctx.towns.ticks
        if self._last_danger.size != ctx.n:
            self._last_danger = np.full(ctx.n, -(10**9), dtype=np.int64)
        new = f.spawned | f.fresh
        if np.count_nonzero(new):
            self._last_danger[new] = -(10**9)
        danger = f.alive & (f.worst_deficit >= p.danger)
        if np.count_nonzero(danger):
            self._last_danger[danger] = ticks[danger]
        guarded = f.exited | (ticks - self._last_danger <= p.window)
        out: npt.NDArray[np.float32] = np.maximum(ctx.total, np.float32(0.0))
        out *= guarded * np.float32(-1.0)
        return out


class ClipParams(PluginParams):
    """Parameters of ``clip``."""

    tick: float = Field(0.2, gt=0, le=100, description="Per-tick bound ±tick (0..100].")
    episode: float = Field(
        100.0, gt=0, le=1e6, description="Bound ±episode on an agent's episode return (0..1e6]."
    )
    exempt_tag: str = Field(
        "terminal", description="Stages with this tag bypass the per-tick clip."
    )


class ClipStage(RewardStageBase[ClipParams]):
    """Per-tick and per-episode clipping; counts clipped agent-ticks."""

    Params: ClassVar[type[BaseModel]] = ClipParams

    def __init__(self, params: ClipParams) -> None:
        super().__init__(params)
        self.episode_return = np.zeros(0, dtype=np.float64)
        self.clipped_ticks = 0
        """Agent-ticks whose per-tick total hit the bound (since construction)."""
        self.agent_ticks = 0
        """Agent-ticks seen (since construction)."""

    @property
    def clip_fraction(self) -> float:
        """Share of agent-ticks clipped so far."""
        return self.clipped_ticks / self.agent_ticks if self.agent_ticks else 0.0

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """The correction that brings the total within both bounds."""
        p = self.params
        f = ctx.facts
        if self.episode_return.size != ctx.n:
            self.episode_return = np.zeros(ctx.n, dtype=np.float64)
        if np.count_nonzero(f.fresh):
            self.episode_return[f.fresh] = 0.0
        arrivals = np.count_nonzero(f.spawned)
        if arrivals:
            self.episode_return[f.spawned & ~f.acted] = 0.0
        exempt = ctx.tagged(p.exempt_tag)
        body = ctx.total - exempt
        clipped = np.minimum(np.maximum(body, -p.tick), p.tick)
        hit = f.acted & (clipped != body)
        self.clipped_ticks += int(np.count_nonzero(hit))
        self.agent_ticks += int(np.count_nonzero(f.acted))
        reward = (clipped + exempt).astype(np.float64)
        ret = self.episode_return
        new = np.minimum(np.maximum(ret + reward, -p.episode), p.episode)
        reward = new - ret
        self.episode_return = np.where(f.acted, new, ret)
        if arrivals:
            self.episode_return[f.spawned] = 0.0
        out: npt.NDArray[np.float32] = ((reward - ctx.total) * f.acted).astype(np.float32)
        return out
