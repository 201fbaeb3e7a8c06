"""Decision points: the rows of a vector env whose chosen option takes effect on the next step.

A citizen's option stays committed for ``world.commit_window`` ticks, and
meanwhile the world ignores what the policy says (``apply_options``). A row
*decides* when its agent is in town, neither possessed nor forced from the
console, and its option has ended (done or failed) or has run past the
commitment window. PPO learns at these points (docs/training.md, "Decisions,
not ticks"), rollout capture records them as ``decided`` and behaviour
cloning imitates the choices made there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from townlet.core.columns import OPTION_ACTIVE

if TYPE_CHECKING:
    from townlet.core.env.vector import VectorTownEnv

__all__ = ["deciding_rows"]


def deciding_rows(env: VectorTownEnv) -> npt.NDArray[np.bool_]:
    """``[rows]``: whose choice takes effect on ``env``'s next step (see the module docstring)."""
    a = env.agent_rows
    tick = np.repeat(np.array([w.tick for w in env.worlds], np.int64), env.slots)
    window = env.config.world.commit_window
    free = (a.option_status != OPTION_ACTIVE) | (tick - a.option_since >= window)
    out: npt.NDArray[np.bool_] = a.alive & ~a.possessed & (a.forced < 0) & free
    return out
