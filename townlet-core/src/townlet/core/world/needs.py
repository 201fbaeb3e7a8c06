"""Need decay and threshold crossings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from townlet.core.world.affordances import NEEDS

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["step_needs"]


def step_needs(world: World) -> None:
    """Decay every living agent's needs, clamp to [0, 1], fire threshold hooks."""
    a = world.agents
    needs = a.needs
    needs -= world.need_decay * a.alive[:, None]
    np.minimum(needs, 1.0, out=needs)
    np.maximum(needs, 0.0, out=needs)
    below = (needs < world.config.world.needs.threshold) & a.alive[:, None]
    crossed = below & ~a.below_threshold
    a.below_threshold[:] = below
    if np.count_nonzero(crossed):
        for slot, n in zip(*crossed.nonzero(), strict=True):
            world.hooks.on_need_threshold(
                world=world,
                tick=world.tick,
                agent_id=world.agent_ids[slot],
                need=NEEDS[n],
                value=float(needs[slot, n]),
            )
