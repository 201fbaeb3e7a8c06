"""``my_linear``: the Policy plugin that acts with what ``my_algo`` saved."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from townlet.core.ports import ObservationEncoder, PluginParams, RowsView, WorldView
from townlet.core.registry import Registry
from townlet.core.world.rows import TownRows
from townlet_example_strategy.linear import COMPONENT, LinearPolicyFile, act


class MyLinearParams(PluginParams):
    """Parameters of ``my_linear``."""

    weights: Path = Field(
        description="The saved policy: linear_policy.npz of a my_algo run (its .json beside it)."
    )


class MyLinearPolicy:
    """Chooses the best legal option under the linear scores ``my_algo`` learned."""

    Params: ClassVar[type[BaseModel]] = MyLinearParams
    plugin_api_version: ClassVar[str] = "2.1"

    def __init__(self, params: MyLinearParams) -> None:
        saved = LinearPolicyFile.load(params.weights)
        # The encoder it was trained with, rebuilt from the recorded params: its spec
        # must hash the same, or the weights would read the wrong features.
        encoder: ObservationEncoder = Registry().build(
            "observation_encoders", saved.encoder, saved.encoder_params
        )
        if encoder.spec.hash != saved.spec_hash:
            raise ValueError(
                f"{params.weights}: trained on encoder spec {saved.spec_hash}, but "
                f"{saved.encoder!r} now has spec {encoder.spec.hash}"
            )
        names = [f.name for f in encoder.spec[COMPONENT].features]
        self.columns = [names.index(name) for name in saved.features]
        self.encoder = encoder
        self.weights = saved.weights

    def reset(self, world: WorldView, rng: np.random.Generator) -> None:
        """Nothing to forget: the policy is deterministic and memoryless."""

    def act(self, world: WorldView) -> npt.NDArray[np.int64]:
        """One option per agent slot of one town."""
        return self.act_many(TownRows.of(world))  # type: ignore[arg-type]

    def act_many(self, rows: RowsView) -> npt.NDArray[np.int64]:
        """One option per row of several towns, in one pass."""
        x = self.encoder.encode(rows)[COMPONENT][:, self.columns]
        masks = np.concatenate([w.action_masks() for w in rows.worlds])
        return act(self.weights, x, masks)
