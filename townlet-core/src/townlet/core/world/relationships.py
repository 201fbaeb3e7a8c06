"""The relationships ledger: up to ``TIES`` ties per agent, held in arrays.

Row ``i`` lists agent slot ``i``'s ties: ``other[i, k]`` is the slot of the
k-th tie (or -1) and ``trust``, ``familiarity``, ``rivalry`` its values in
[-1, 1]. The arrays are the agent store's ``tie_other``, ``tie_trust``,
``tie_familiarity`` and ``tie_rivalry`` (:class:`~townlet.core.world.state.AgentArrays`),
changed in place only. Ties are directional: each side keeps its own view, and both sides
are updated by :meth:`Relationships.apply` with their own personality.

Events change a tie by the deltas in :data:`EVENTS` (SPEC §3), adjusted by the
receiving agent's personality:

- forgiveness ``f > 0`` scales harmful deltas (trust or familiarity down,
  rivalry up) by ``1 - 0.5 * f``: down to half at ``f = 1``;
- ambition ``a > 0`` adds ``30% * a`` to rivalry gained in work conflicts;
- extroversion ``e > 0`` adds ``0.02 * e`` familiarity on a good chat.

A new tie is admitted when the agent has a free place or when the event is
strong (``|trust + familiarity - rivalry| > 0.2``), evicting the weakest tie
(smallest ``|trust| + |familiarity| + |rivalry|``). Every hour all values decay
toward 0 and ties whose values are all faint are dropped.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from townlet.core.world.state import TIES, AgentArrays

__all__ = ["EVENTS", "TIES", "WORK_EVENTS", "Relationships"]

EVENTS: Final[dict[str, tuple[float, float, float]]] = {
    "shared_meal": (0.10, 0.25, 0.0),
    "queued_politely": (0.05, 0.05, -0.05),
    "blocked": (0.0, -0.05, 0.15),
    "shift_taken": (-0.10, 0.0, 0.30),
    "helped_when_late": (0.20, 0.10, -0.10),
    "good_chat": (0.05, 0.10, 0.0),
    "failed_chat": (0.0, -0.05, 0.05),
}
"""(trust, familiarity, rivalry) deltas; ``good_chat`` is scaled by chat quality."""
WORK_EVENTS: Final = frozenset({"shift_taken"})
ADMIT_STRENGTH: Final = 0.2


class Relationships:
    """The rules over the ties of every agent slot, kept in ``agents``."""

    def __init__(
        self, agents: AgentArrays, decay_per_hour: float = 0.02, faint: float = 0.02
    ) -> None:
        self.agents = agents
        self.decay_per_hour = decay_per_hour
        self.faint = faint

    @property
    def other(self) -> npt.NDArray[np.int32]:
        """``[N, TIES]`` slot of each tie, or -1 (``agents.tie_other``)."""
        return self.agents.tie_other

    @property
    def trust(self) -> npt.NDArray[np.float32]:
        """``[N, TIES]`` trust toward each tie (``agents.tie_trust``)."""
        return self.agents.tie_trust

    @property
    def familiarity(self) -> npt.NDArray[np.float32]:
        """``[N, TIES]`` familiarity with each tie (``agents.tie_familiarity``)."""
        return self.agents.tie_familiarity

    @property
    def rivalry(self) -> npt.NDArray[np.float32]:
        """``[N, TIES]`` rivalry toward each tie (``agents.tie_rivalry``)."""
        return self.agents.tie_rivalry

    def tie(self, a: int, b: int) -> tuple[float, float, float]:
        """``a``'s view of ``b`` as (trust, familiarity, rivalry); zeros if no tie."""
        k = np.flatnonzero(self.other[a] == b)
        if k.size == 0:
            return (0.0, 0.0, 0.0)
        i = int(k[0])
        return (float(self.trust[a, i]), float(self.familiarity[a, i]), float(self.rivalry[a, i]))

    def apply(
        self, event: str, a: int, b: int, personality: npt.NDArray[np.float32], quality: float = 1.0
    ) -> None:
        """Record ``event`` between slots ``a`` and ``b`` in both of their rows."""
        for me, them in ((a, b), (b, a)):
            self.update(me, them, *self.deltas(event, personality[me], quality))

    @staticmethod
    def deltas(
        event: str, personality: npt.NDArray[np.float32], quality: float = 1.0
    ) -> tuple[float, float, float]:
        """The (trust, familiarity, rivalry) change ``event`` makes for one agent."""
        dt, df, dr = EVENTS[event]
        if event == "good_chat":
            dt, df = dt * quality, df * quality
        extroversion, forgiveness, ambition = (float(v) for v in personality)
        if event in WORK_EVENTS and dr > 0:
            dr *= 1.0 + 0.3 * max(0.0, ambition)
        if event == "good_chat":
            df += 0.02 * max(0.0, extroversion)
        soften = 1.0 - 0.5 * max(0.0, forgiveness)
        dt = dt * soften if dt < 0 else dt
        df = df * soften if df < 0 else df
        dr = dr * soften if dr > 0 else dr
        return dt, df, dr

    def update(self, me: int, them: int, dt: float, df: float, dr: float) -> None:
        """Add deltas to ``me``'s tie to ``them``, admitting or evicting as needed."""
        row = self.other[me]
        found = np.flatnonzero(row == them)
        if found.size:
            k = int(found[0])
        else:
            free = np.flatnonzero(row < 0)
            if free.size:
                k = int(free[0])
            elif abs(dt + df - dr) > ADMIT_STRENGTH:
                strength = (
                    np.abs(self.trust[me]) + np.abs(self.familiarity[me]) + np.abs(self.rivalry[me])
                )
                k = int(np.argmin(strength))
            else:
                return
            row[k] = them
            self.trust[me, k] = self.familiarity[me, k] = self.rivalry[me, k] = 0.0
        self.trust[me, k] = np.clip(self.trust[me, k] + dt, -1.0, 1.0)
        self.familiarity[me, k] = np.clip(self.familiarity[me, k] + df, -1.0, 1.0)
        self.rivalry[me, k] = np.clip(self.rivalry[me, k] + dr, -1.0, 1.0)

    def decay(self) -> None:
        """One hour of decay toward 0; drop ties that have faded away."""
        keep = 1.0 - self.decay_per_hour
        for values in (self.trust, self.familiarity, self.rivalry):
            values *= keep
        faint = (
            (np.abs(self.trust) < self.faint)
            & (np.abs(self.familiarity) < self.faint)
            & (np.abs(self.rivalry) < self.faint)
        )
        self.other[faint] = -1
        for values in (self.trust, self.familiarity, self.rivalry):
            values[faint] = 0.0

    def clear_slot(self, slot: int) -> None:
        """Forget every tie of ``slot`` and every tie to it (an agent left)."""
        self.other[slot] = -1
        self.trust[slot] = self.familiarity[slot] = self.rivalry[slot] = 0.0
        gone = self.other == slot
        self.other[gone] = -1
        for values in (self.trust, self.familiarity, self.rivalry):
            values[gone] = 0.0

    def rivals_of(self, slot: int, threshold: float) -> npt.NDArray[np.int32]:
        """Slots ``slot`` feels rivalry above ``threshold`` toward."""
        row = self.other[slot]
        rivals: npt.NDArray[np.int32] = row[(row >= 0) & (self.rivalry[slot] > threshold)]
        return rivals
