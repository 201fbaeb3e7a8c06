"""Need decay, threshold crossings and fainting.

An agent whose energy runs out faints: it drops what it was doing, lies where
it fell for ``faint_ticks`` and comes round with ``faint_energy``. The
``faint`` event it logs is what the ``terminal`` reward stage penalises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from townlet.core.world.affordances import NEEDS

if TYPE_CHECKING:
    from townlet.core.world.rows import TownRows
    from townlet.core.world.world import World

__all__ = ["step_needs"]

_ENERGY = NEEDS.index("energy")


def step_needs(towns: TownRows) -> None:
    """Decay every living agent's needs, clamp to [0, 1], fire threshold hooks, faint."""
    a = towns.agents
    cfg = towns.config.world.needs
    needs = a.needs
    needs -= towns.worlds[0].need_decay * a.alive[:, None]
    np.minimum(needs, 1.0, out=needs)
    np.maximum(needs, 0.0, out=needs)
    below = (needs < cfg.threshold) & a.alive[:, None]
    crossed = below & ~a.below_threshold
    a.below_threshold[:] = below
    if np.count_nonzero(crossed):
        for row, n in zip(*crossed.nonzero(), strict=True):
            world, slot = towns.locate(int(row))
            world.hooks.on_need_threshold(
                world=world,
                tick=world.tick,
                agent_id=world.agent_ids[slot],
                need=NEEDS[n],
                value=float(needs[row, n]),
            )
    if cfg.faint_ticks:
        out = (needs[:, _ENERGY] <= 0.0) & a.alive
        if np.count_nonzero(out):
            for row in out.nonzero()[0].tolist():
                _faint(*towns.locate(row), cfg.faint_ticks, cfg.faint_energy)


def _faint(world: World, slot: int, ticks: int, energy: float) -> None:
    a = world.agents
    world.drop_everything(slot)
    a.stall_until[slot] = world.tick + ticks
    a.needs[slot, _ENERGY] = energy
    world.record("faint", slot, need="energy")
    world.narrate("fainted", (slot,))
