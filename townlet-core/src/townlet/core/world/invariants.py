"""Checks of the world's invariants, used by tests, fuzzing and ``--check``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from townlet.core.world.queues import WORK
from townlet.core.world.state import NO

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["violations"]


def violations(world: World) -> list[str]:
    """Every broken invariant, as a sentence (empty when the world is sound)."""
    a = world.agents
    objs = world.objects
    out: list[str] = []
    alive = a.alive
    if not np.isfinite(a.needs).all():
        out.append("a need is NaN or infinite")
    if (a.needs[alive] < 0).any() or (a.needs[alive] > 1).any():
        out.append("a need is outside [0, 1]")
    xs, ys = a.xy[alive, 0], a.xy[alive, 1]
    if (~world.town.walkable[ys, xs]).any():
        out.append("an agent stands inside a wall")
    if (a.inventory[alive] < 0).any():
        out.append("negative inventory")
    if (a.wallet[alive] < 0).any():
        out.append("negative wallet")
    if not world.economy.balanced(a):
        out.append("wallets do not reconcile with the ledger")
    for o in np.flatnonzero(objs.holder >= 0):
        slot = int(objs.holder[o])
        oid = world.town.object_ids[o]
        if not alive[slot]:
            out.append(f"{oid} is held by an empty slot")
        elif a.target[slot] != o:
            out.append(f"{oid} is held by {world.agent_ids[slot]}, who is not heading for it")
        if objs.reserved_until[o] < world.tick - 1:
            out.append(f"{oid}'s reservation outlived its timeout")
    using = np.flatnonzero(alive & ((a.aff >= 0) | (a.aff == WORK)))
    for user in using:
        target = int(a.target[user])
        if target == NO or objs.holder[target] != user:
            out.append(f"{world.agent_ids[user]} uses an object it does not hold")
    return out
