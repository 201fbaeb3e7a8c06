"""The random baseline policy: a uniform draw over each agent's legal options.

The floor every learned policy is compared with in ``townlet evaluate``.
Draws come from the policy RNG stream the policy is reset with, so a run is
reproducible from its seed. ``options`` narrows the draw to some options
(``options: [wait]`` gives the always-wait baseline); a row where none of
them is legal waits.
"""

from __future__ import annotations

from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field, field_validator

from townlet.core.ports import OPTIONS, PLUGIN_API_VERSION, PluginParams, RowsView, WorldView

__all__ = ["RandomPolicy", "RandomPolicyParams"]

_WAIT: Final = OPTIONS.index("wait")


class RandomPolicyParams(PluginParams):
    """Which options the random policy draws from."""

    options: tuple[str, ...] | None = Field(
        None,
        description="Draw only among these options (names from the option set); "
        "null: every option. An agent with none of them legal waits.",
    )

    @field_validator("options")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return value
        unknown = sorted(set(value) - set(OPTIONS))
        if unknown or not value:
            raise ValueError(
                f"options must be a non-empty subset of {', '.join(OPTIONS)} "
                f"(unknown: {', '.join(unknown) or 'none given'})"
            )
        return value


class RandomPolicy:
    """Each tick, every agent picks one of its legal options uniformly at random."""

    Params: ClassVar[type[BaseModel]] = RandomPolicyParams
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION

    def __init__(self, params: RandomPolicyParams) -> None:
        self.params = params
        self.rng = np.random.default_rng(0)
        allowed = params.options if params.options is not None else OPTIONS
        self._allowed = np.isin(np.array(OPTIONS), np.array(allowed))

    def reset(self, world: WorldView, rng: np.random.Generator) -> None:
        """Draw from ``rng`` (the policy RNG stream) from now on."""
        self.rng = rng

    def act(self, world: WorldView) -> npt.NDArray[np.int64]:
        """One option per agent slot."""
        return self.choose(world.action_masks())

    def act_many(self, rows: RowsView) -> npt.NDArray[np.int64]:
        """One option per row of several towns (their slots end to end)."""
        masks = [w.action_masks() for w in rows.worlds]
        return self.choose(masks[0] if len(masks) == 1 else np.concatenate(masks))

    def choose(self, masks: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """A uniform draw among the legal (and allowed) options of each mask row."""
        legal = masks & self._allowed
        # the largest of independent uniform keys is uniform over the legal options
        keys = np.where(legal, self.rng.random(legal.shape), -1.0)
        choice = keys.argmax(axis=1)
        return np.where(legal.any(axis=1), choice, _WAIT).astype(np.int64)
