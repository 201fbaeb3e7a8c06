"""Reward stages and the reward pipeline.

Terms: ``homeostasis``, ``shaping``, ``work``, ``survival``, ``terminal``,
``social_chat`` (C1), ``social_avoidance`` (C2), ``social_quality`` (C3) and
the optional ``curiosity``. Guardrails: ``social_floor``, ``death_guard``,
``clip``. See docs/rewards.md.
"""

from townlet.core.rewards.context import Event, RewardContext, Snapshot, TickFacts, derive_facts
from townlet.core.rewards.pipeline import RewardPipeline
from townlet.core.rewards.stages import NeedWeights, RewardStageBase, SwitchableStage
from townlet.core.rewards.stats import RunningMoments, RunningStats, RunningSums

__all__ = [
    "Event",
    "NeedWeights",
    "RewardContext",
    "RewardPipeline",
    "RewardStageBase",
    "RunningMoments",
    "RunningStats",
    "RunningSums",
    "Snapshot",
    "SwitchableStage",
    "TickFacts",
    "derive_facts",
]
