"""A third-party reward stage: a small bonus for every tick an agent is clean.

Registered by its distribution's entry point::

    [project.entry-points."townlet.reward_stages"]
    tidy_bonus = "tidy_bonus:TidyBonus"

and selected in YAML by name (see "Example: a custom reward stage, added from YAML"
in docs/plugins.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import Field

from townlet.core.ports import HYGIENE, PluginParams, RewardContextView
from townlet.core.rewards import RewardStageBase


class TidyBonusParams(PluginParams):
    """Parameters of ``tidy_bonus``."""

    amount: float = Field(0.001, ge=0, le=0.05, description="Bonus per clean tick (0..0.05).")
    threshold: float = Field(0.7, ge=0, le=1, description="Hygiene that counts as clean (0..1).")


class TidyBonus(RewardStageBase[TidyBonusParams]):
    """Pays ``amount`` each tick an agent's hygiene is at least ``threshold``."""

    Params = TidyBonusParams
    plugin_api_version = "2.0"

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """The bonus of the tick just simulated, for agents that acted and stayed."""
        hygiene = ctx.towns.agents.needs[:, HYGIENE]
        clean = (hygiene >= self.params.threshold) & ctx.facts.stayed
        return (clean * self.params.amount).astype(np.float32)
