"""Run KPIs, accumulated with array operations each tick.

Per-slot counts (``ok_ticks``, ``alive_ticks``) live in the agent store
(:class:`~townlet.core.world.state.AgentArrays`); :class:`Kpis` keeps the town totals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["Kpis"]


@dataclass
class Kpis:
    """Counters for the run summary and metrics."""

    agent_ticks: int = 0
    ok_agent_ticks: int = 0
    """Agent-ticks with every need above the threshold (self-sufficiency)."""
    completions: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    steps: int = 0
    blocked_moves: int = 0
    ghost_steps: int = 0
    reservations: int = 0
    queue_wait_ticks: int = 0
    invalid_options: int = 0
    option_switches: int = 0

    def accumulate(self, n_alive: int, n_ok: int) -> None:
        """Count one tick of need health: ``n_alive`` agents alive, ``n_ok`` of them
        with every need above the threshold."""
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

    def state_dict(self) -> dict[str, Any]:
        """Every counter, JSON-able."""
        return {
            f.name: dict(v) if isinstance(v := getattr(self, f.name), Counter) else v
            for f in fields(self)
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set every counter from :meth:`state_dict`'s output."""
        for f in fields(self):
            value = state[f.name]
            setattr(self, f.name, Counter(value) if isinstance(value, Mapping) else int(value))
