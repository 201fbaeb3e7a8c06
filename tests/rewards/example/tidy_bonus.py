"""A third-party reward stage: a small bonus for every tick an agent is clean.

Registered by its distribution's entry point::

    [project.entry-points."townlet.reward_stages"]
    tidy_bonus = "tidy_bonus:TidyBonus"

and selected in YAML by name (see docs/plugins_reward_stage.md).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from townlet.core.rewards import RewardContext


class TidyBonusParams(BaseModel):
    """Parameters of ``tidy_bonus``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: float = Field(0.001, ge=0, le=0.05, description="Bonus per clean tick (0..0.05).")
    threshold: float = Field(0.7, ge=0, le=1, description="Hygiene that counts as clean (0..1).")


class TidyBonus:
    """Pays ``amount`` each tick an agent's hygiene is at least ``threshold``."""

    Params: ClassVar[type[BaseModel]] = TidyBonusParams
    plugin_api_version: ClassVar[str] = "1.0"
    tags: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, params: TidyBonusParams) -> None:
        self.params = params

    def compute(self, ctx: RewardContext) -> npt.NDArray[np.float32]:
        """The bonus of the tick just simulated, for agents that acted and stayed."""
        hygiene = ctx.towns.agents.needs[:, 1]
        clean = (hygiene >= self.params.threshold) & ctx.facts.acted & ~ctx.facts.exited
        return (clean * self.params.amount).astype(np.float32)
