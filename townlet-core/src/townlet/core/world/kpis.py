"""Run KPIs, accumulated with array operations each tick."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["Kpis"]


@dataclass
class Kpis:
    """Counters for the run summary and metrics."""

    n_slots: int
    agent_ticks: int = 0
    ok_agent_ticks: int = 0
    """Agent-ticks with every need above the threshold (self-sufficiency)."""
    ok_ticks: npt.NDArray[np.int64] = field(init=False)
    alive_ticks: npt.NDArray[np.int64] = field(init=False)
    completions: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    steps: int = 0
    blocked_moves: int = 0
    ghost_steps: int = 0
    reservations: int = 0
    queue_wait_ticks: int = 0
    invalid_options: int = 0
    option_switches: int = 0

    def __post_init__(self) -> None:
        self.ok_ticks = np.zeros(self.n_slots, dtype=np.int64)
        self.alive_ticks = np.zeros(self.n_slots, dtype=np.int64)

    def accumulate(
        self, alive: npt.NDArray[np.bool_], ok: npt.NDArray[np.bool_], n_alive: int, n_ok: int
    ) -> None:
        """Count one tick of need health (``ok``: alive with every need above the
        threshold; ``n_alive`` and ``n_ok`` their counts)."""
        self.alive_ticks += alive
        self.ok_ticks += ok
        self.agent_ticks += n_alive
        self.ok_agent_ticks += n_ok

    @property
    def self_sufficiency(self) -> float:
        """Share of agent-ticks with all needs above the threshold."""
        return self.ok_agent_ticks / self.agent_ticks if self.agent_ticks else 1.0

    @property
    def mean_queue_wait(self) -> float:
        """Mean ticks from joining a queue to getting the reservation."""
        return self.queue_wait_ticks / self.reservations if self.reservations else 0.0
