"""The relationships ledger: up to ``TIES`` ties per agent, held in arrays.

Row ``i`` lists agent slot ``i``'s ties: ``other[i, k]`` is the slot of the
k-th tie (or -1) and ``trust``, ``familiarity``, ``rivalry`` its values in
[-1, 1]. Ties are directional (each side keeps its own view).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["TIES", "Relationships"]

TIES: Final = 6


class Relationships:
    """Ties of every agent slot."""

    def __init__(self, n_slots: int) -> None:
        self.other: npt.NDArray[np.int32] = np.full((n_slots, TIES), -1, dtype=np.int32)
        self.trust: npt.NDArray[np.float32] = np.zeros((n_slots, TIES), dtype=np.float32)
        self.familiarity: npt.NDArray[np.float32] = np.zeros((n_slots, TIES), dtype=np.float32)
        self.rivalry: npt.NDArray[np.float32] = np.zeros((n_slots, TIES), dtype=np.float32)

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """Every array by name (hashing, snapshots)."""
        return {
            "other": self.other,
            "trust": self.trust,
            "familiarity": self.familiarity,
            "rivalry": self.rivalry,
        }

    def clear_slot(self, slot: int) -> None:
        """Forget every tie of ``slot`` and every tie to it (an agent left)."""
        self.other[slot] = -1
        self.trust[slot] = self.familiarity[slot] = self.rivalry[slot] = 0.0
        gone = self.other == slot
        self.other[gone] = -1
        for values in (self.trust, self.familiarity, self.rivalry):
            values[gone] = 0.0
