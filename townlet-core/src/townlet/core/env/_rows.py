"""Row logic shared by the library adapters over vectorised towns (``sb3``, ``torchrl_env``).

Both hand every agent slot of a :class:`~townlet.core.env.VectorTownEnv` to a
library as one env row and agree on what a row shows: flat observations,
empty slots as zeros allowed only ``wait`` and earning 0, and at a town's
horizon every row's episode ending (a row empty at the horizon included, so
the padding never runs on into the next episode's citizen). numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.observations.spec import ObservationSpec
from townlet.core.world.options import OPTIONS, Option

__all__ = ["WAIT_ONLY", "earned_rewards", "flat_rows", "horizon_rows"]

WAIT_ONLY = np.eye(len(OPTIONS), dtype=bool)[Option.WAIT]
"""The mask of an empty slot: only ``wait``."""


def flat_rows(
    spec: ObservationSpec, obs: dict[str, npt.NDArray[Any]], info: dict[str, Any]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Flat observations and next-step masks (fresh arrays) and the vacant rows; vacant
    rows show zeros and allow only ``wait``."""
    flat = spec.flatten(dict(obs))
    masks: npt.NDArray[np.bool_] = info["action_mask"].copy()
    vacant: npt.NDArray[np.bool_] = ~info["alive"]
    if vacant.any():
        flat[vacant] = 0.0
        masks[vacant] = WAIT_ONLY
    return flat, masks, vacant


def earned_rewards(
    rewards: npt.NDArray[np.float32], info: dict[str, Any]
) -> npt.NDArray[np.float32]:
    """Rewards of rows whose citizen acted this step (a leaver's terminal penalty
    included); empty slots and a newcomer's first step earn 0."""
    earned = info["acted"] & ~info["spawned"]
    return np.where(earned, rewards, np.float32(0.0)).astype(np.float32, copy=False)


def horizon_rows(
    spec: ObservationSpec, terminated: npt.NDArray[np.bool_], info: dict[str, Any]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float32] | None]:
    """Rows truncated this step, and the flat last observation of every row of the towns
    that reached their horizon (None when none did).

    Every row of such a town is truncated unless its citizen left on that tick (then
    it is terminated): the town resets, so each row's episode ends, an empty slot's
    too. The last observation is zeros where the slot held nobody at the horizon.
    """
    reset_rows: npt.NDArray[np.bool_] = info["final_mask"]
    truncated = reset_rows & ~terminated
    if not info["reset_towns"]:
        return truncated, None
    final = spec.flatten(dict(info["final_obs"]))
    held = (info["acted"] & ~terminated) | info["spawned"]
    final[~held] = 0.0
    return truncated, final
