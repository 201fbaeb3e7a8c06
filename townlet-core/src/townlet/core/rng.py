"""Seeded random streams.

A run has three independent streams derived from one seed: ``world``
(tie-break jitter, spawn details), ``events`` (weather, utility faults,
perturbations) and ``policy`` (policy sampling). Nothing in Townlet uses the
global ``random`` or ``numpy.random`` state, so the same seed gives the same
run bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RngStreams"]

STREAMS = ("world", "events", "policy")


@dataclass(slots=True)
class RngStreams:
    """The world, events and policy generators of one run."""

    world: np.random.Generator
    events: np.random.Generator
    policy: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> RngStreams:
        """Derive the three streams from ``seed`` with independent SeedSequences."""
        children = np.random.SeedSequence(seed).spawn(len(STREAMS))
        return cls(*(np.random.Generator(np.random.PCG64(c)) for c in children))

    def state_dict(self) -> dict[str, Any]:
        """JSON-able bit-generator states (for snapshots)."""
        return {name: getattr(self, name).bit_generator.state for name in STREAMS}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore states produced by :meth:`state_dict`."""
        for name in STREAMS:
            getattr(self, name).bit_generator.state = state[name]
