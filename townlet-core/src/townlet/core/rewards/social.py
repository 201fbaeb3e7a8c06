"""Social reward terms, switched on by ``features.stages.social_rewards``.

- ``social_chat`` (C1 and later): a completed good chat pays
  ``base + trust_weight·trust + familiarity_weight·familiarity`` (the tie to
  the partner after the chat) to each participant.
- ``social_avoidance`` (C2 and later): a small bonus for each tick spent in
  the same queue as a rival without a conflict involving the agent.
- ``social_quality`` (C3): a small per-tick modifier from the quality of the
  agent's ties, ``weight · mean(trust + familiarity − rivalry)``.

All three carry the ``social`` tag, so the deficit-floor guardrail removes
them for agents in need.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from townlet.core.ports import PluginParams, RewardContextView, RowsView, RunConfigView
from townlet.core.rewards.stages import P, RewardStageBase

__all__ = [
    "SocialAvoidanceParams",
    "SocialAvoidanceStage",
    "SocialChatParams",
    "SocialChatStage",
    "SocialQualityParams",
    "SocialQualityStage",
]

_LEVELS: Final = {"off": 0, "C1": 1, "C2": 2, "C3": 3}


class _SocialStage(RewardStageBase[P]):
    tags: ClassVar[frozenset[str]] = frozenset({"social"})
    level: ClassVar[int]

    def enabled(self, config: RunConfigView) -> bool:
        """On when the configured social-reward stage reaches this one's level."""
        return _LEVELS.get(config.features.stages.social_rewards, 0) >= self.level

    def active(self, ctx: RewardContextView) -> bool:
        """:meth:`enabled` for the rewarded towns' config."""
        return self.enabled(ctx.towns.config)


def _ties(
    rows: RowsView,
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]
]:
    """``[N, 6]`` ties over rows: the other agent's row (or -1), trust, familiarity, rivalry."""
    a = rows.agents
    other = a.tie_other.astype(np.int64)
    if len(rows.worlds) > 1:
        base = np.arange(rows.n_agents, dtype=np.int64) - rows.slots
        other = np.where(other >= 0, other + base[:, None], -1)
    return other, a.tie_trust, a.tie_familiarity, a.tie_rivalry


def _tie_values(
    ctx: RewardContextView, rows: npt.NDArray[np.int64], others: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Trust and familiarity of each ``rows[i]`` toward ``others[i]`` (0 without a tie)."""
    other, trust_all, fam_all, _ = _ties(ctx.towns)
    match = other[rows] == others[:, None]
    found = match.any(axis=1)
    k = np.argmax(match, axis=1)
    trust = np.where(found, trust_all[rows, k], 0.0).astype(np.float32)
    fam = np.where(found, fam_all[rows, k], 0.0).astype(np.float32)
    return trust, fam


def _partner(ctx: RewardContextView, row: int, event: Mapping[str, Any]) -> int:
    """Row of the event's ``other`` agent (in the town of ``row``), or -1."""
    if row < 0:
        return -1
    return ctx.towns.row_of(int(ctx.towns.town_index[row]), str(event.get("other")))


class SocialChatParams(PluginParams):
    """Parameters of ``social_chat`` (C1)."""

    base: float = Field(0.01, ge=0, le=1, description="Reward per completed good chat (0..1).")
    trust_weight: float = Field(0.3, ge=0, le=1, description="Extra per unit of trust (0..1).")
    familiarity_weight: float = Field(
        0.2, ge=0, le=1, description="Extra per unit of familiarity (0..1)."
    )
    event: str = Field("chat", min_length=1, description="Event kind of a chat.")
    both: bool = Field(True, description="Pay the partner as well as the initiator.")


class SocialChatStage(_SocialStage[SocialChatParams]):
    """C1: reward for completed good chats, more with trusted and familiar partners."""

    Params: ClassVar[type[BaseModel]] = SocialChatParams
    level: ClassVar[int] = 1

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Chat rewards of this tick."""
        out = np.zeros(ctx.n, dtype=np.float32)
        if not self.active(ctx):
            return out
        p = self.params
        pairs: list[tuple[int, int]] = []
        for row, ev in ctx.facts.of_kind(p.event):
            other = _partner(ctx, row, ev)
            if other < 0 or not ev.get("success", True):
                continue
            pairs.append((row, other))
            if p.both:
                pairs.append((other, row))
        if not pairs:
            return out
        arr = np.array(pairs, dtype=np.int64)
        trust, fam = _tie_values(ctx, arr[:, 0], arr[:, 1])
        value = p.base + p.trust_weight * trust + p.familiarity_weight * fam
        np.add.at(out, arr[:, 0], value.astype(np.float32))
        out *= ctx.facts.acted & ~ctx.facts.exited
        return out


class SocialAvoidanceParams(PluginParams):
    """Parameters of ``social_avoidance`` (C2)."""

    bonus: float = Field(
        0.005, ge=0, le=0.1, description="Per tick queued beside a rival without conflict (0..0.1)."
    )
    rivalry: float = Field(0.3, ge=0, le=1, description="Rivalry that makes a tie a rival (0..1).")
    event: str = Field("conflict", min_length=1, description="Event kind of a conflict.")


class SocialAvoidanceStage(_SocialStage[SocialAvoidanceParams]):
    """C2: a bonus for sharing a queue with a rival and keeping the peace."""

    Params: ClassVar[type[BaseModel]] = SocialAvoidanceParams
    level: ClassVar[int] = 2

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Bonus for rival-sharing queues without a conflict this tick."""
        out = np.zeros(ctx.n, dtype=np.float32)
        if not self.active(ctx):
            return out
        p = self.params
        a = ctx.towns.agents
        other, _, _, rivalry = _ties(ctx.towns)
        o = np.maximum(other, 0)
        q = a.queue_obj.astype(np.int64)
        rival = (other >= 0) & a.alive[o] & (rivalry >= p.rivalry)
        beside = rival & (q[:, None] >= 0) & (q[o] == q[:, None])
        calm = np.ones(ctx.n, dtype=bool)
        for row, ev in ctx.facts.of_kind(p.event):
            if row >= 0:
                calm[row] = False
            causer = _partner(ctx, row, ev)
            if causer >= 0:
                calm[causer] = False
        out[:] = beside.any(axis=1) & calm & ctx.facts.acted & ~ctx.facts.exited
        out *= np.float32(p.bonus)
        return out


class SocialQualityParams(PluginParams):
    """Parameters of ``social_quality`` (C3)."""

    weight: float = Field(
        0.002, ge=0, le=0.05, description="Per tick times mean(trust + fam − rivalry) (0..0.05)."
    )


class SocialQualityStage(_SocialStage[SocialQualityParams]):
    """C3: a small modifier from the quality of the agent's relationships."""

    Params: ClassVar[type[BaseModel]] = SocialQualityParams
    level: ClassVar[int] = 3

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """``weight · mean over ties of (trust + familiarity − rivalry) / 3``."""
        out = np.zeros(ctx.n, dtype=np.float32)
        if not self.active(ctx):
            return out
        p = self.params
        other, trust, familiarity, rivalry = _ties(ctx.towns)
        valid = other >= 0
        quality = np.where(valid, trust + familiarity - rivalry, 0.0).sum(axis=1)
        mean = quality / np.maximum(valid.sum(axis=1), 1) / 3.0
        out[:] = p.weight * mean * (ctx.facts.acted & ~ctx.facts.exited)
        return out
