"""Gymnasium spaces from an observation spec and the option set."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from townlet.core.observations.spec import ObservationSpec
from townlet.core.world.options import OPTIONS

__all__ = ["action_space", "observation_space"]


def observation_space(
    spec: ObservationSpec, *, flatten: bool, mask_in_obs: bool
) -> spaces.Space[Any]:
    """The per-agent observation space.

    - components as a ``Dict`` of ``Box`` (bounds from the spec), or one flat
      ``Box`` in :meth:`ObservationSpec.feature_names` order when ``flatten``;
    - with ``mask_in_obs`` an ``action_mask`` (``MultiBinary``) entry is added
      (beside ``observation`` when flat).
    """
    if flatten:
        lows, highs = zip(*(c.bounds() for c in spec.components), strict=True)
        low = np.concatenate([x.ravel() for x in lows]).astype(np.float32)
        high = np.concatenate([x.ravel() for x in highs]).astype(np.float32)
        flat = spaces.Box(low, high, dtype=np.float32)
        if not mask_in_obs:
            return flat
        return spaces.Dict({"observation": flat, "action_mask": spaces.MultiBinary(len(OPTIONS))})
    parts: dict[str, spaces.Space[Any]] = {}
    for comp in spec.components:
        low, high = comp.bounds()
        parts[comp.name] = spaces.Box(low, high, dtype=np.dtype(comp.dtype).type)
    if mask_in_obs:
        parts["action_mask"] = spaces.MultiBinary(len(OPTIONS))
    return spaces.Dict(parts)


def action_space() -> spaces.Discrete:
    """One option per agent per step: ``wait``, ``get_fed``, … ``socialise``."""
    return spaces.Discrete(len(OPTIONS))
