"""What a reward stage sees: the world, facts about the tick, the running total.

The pipeline keeps a snapshot of the state at the end of the previous tick
and derives :class:`TickFacts` once per tick, so stages need not each diff
the world: who exited (and why), who arrived, needs before and after, shift
states before, and this tick's events resolved to agent slots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["Event", "RewardContext", "Snapshot", "TickFacts", "derive_facts"]

Event = tuple[int, Mapping[str, Any]]
"""``(slot, event dict)`` of one event of this tick."""


@dataclass(frozen=True)
class Snapshot:
    """The per-agent state a reward depends on, copied at the end of a tick."""

    ids: tuple[str, ...]
    alive: npt.NDArray[np.bool_]
    needs: npt.NDArray[np.float32]
    present_ticks: npt.NDArray[np.int64]
    shift_state: npt.NDArray[np.int8]

    @classmethod
    def of(cls, world: World) -> Snapshot:
        """Copy what the stages need from ``world``."""
        a = world.agents
        return cls(
            ids=tuple(world.agent_ids),
            alive=a.alive.copy(),
            needs=a.needs.copy(),
            present_ticks=a.present_ticks.copy(),
            shift_state=a.shift_state.copy(),
        )


@dataclass(frozen=True)
class TickFacts:
    """Derived facts of the tick just simulated (arrays over agent slots)."""

    before: Snapshot
    """State at the end of the previous tick (or at reset)."""
    acted: npt.NDArray[np.bool_]
    """Slots whose agent was alive before the tick (they receive this tick's reward)."""
    alive: npt.NDArray[np.bool_]
    """Slots alive after the tick."""
    exited: npt.NDArray[np.bool_]
    """Agents that left town during the tick."""
    spawned: npt.NDArray[np.bool_]
    """Slots holding a newcomer that arrived during the tick."""
    exit_reasons: Mapping[int, str]
    """Slot → exit reason (``collapse``, ``eviction``, …; ``unknown`` if not logged)."""
    events: Mapping[str, list[Event]]
    """This tick's events by kind, with the slot of their ``agent``."""
    deficit: npt.NDArray[np.float32]
    """``[N, 3]`` need deficits (1 − value) after the tick."""
    deficit_before: npt.NDArray[np.float32]
    worst_deficit: npt.NDArray[np.float32]
    """``[N]`` largest need deficit of each slot after the tick."""
    stayed: npt.NDArray[np.bool_]
    """Slots whose agent acted and did not exit (``acted & ~exited``)."""

    def of_kind(self, kind: str) -> list[Event]:
        """Events of one kind (empty list when none)."""
        return list(self.events.get(kind, ()))


def derive_facts(
    world: World, before: Snapshot, carried: Sequence[Mapping[str, Any]] = ()
) -> TickFacts:
    """Compare ``world`` with the previous snapshot and index this tick's events.

    ``carried`` are events logged between the previous tick and this one.
    """
    a = world.agents
    ids = tuple(world.agent_ids)
    acted = before.alive.copy()
    if ids == before.ids:
        exited = acted & ~a.alive
        spawned = a.alive & ~acted
    else:
        same = np.array([x == y for x, y in zip(ids, before.ids, strict=True)], dtype=bool)
        exited = acted & (~a.alive | ~same)
        spawned = a.alive & (~acted | ~same)
    events: dict[str, list[Event]] = {}
    reasons: dict[int, str] = {}
    logged = (*carried, *world.events)
    if logged:
        slot_of = {aid: i for i, aid in enumerate(ids) if aid}
        old_slot = {aid: i for i, aid in enumerate(before.ids) if aid}
        for ev in logged:
            agent = ev.get("agent")
            key = agent if isinstance(agent, str) else ""
            kind = str(ev.get("kind"))
            slot = old_slot.get(key, -1) if kind == "exit" else slot_of.get(key, -1)
            if slot < 0:
                slot = slot_of.get(key, old_slot.get(key, -1))
            events.setdefault(kind, []).append((slot, ev))
            if kind == "exit" and slot >= 0:
                reasons[slot] = str(ev.get("reason", "unknown"))
    if np.count_nonzero(exited):
        for gone in exited.nonzero()[0].tolist():
            reasons.setdefault(gone, "unknown")
    deficit = 1.0 - a.needs
    return TickFacts(
        before=before,
        acted=acted,
        alive=a.alive.copy(),
        exited=exited,
        spawned=spawned,
        exit_reasons=reasons,
        events=events,
        deficit=deficit,
        deficit_before=1.0 - before.needs,
        worst_deficit=deficit.max(axis=1),
        stayed=acted & ~exited,
    )


@dataclass
class RewardContext:
    """Everything a stage's :meth:`compute` may read (never write)."""

    world: World
    facts: TickFacts
    total: npt.NDArray[np.float32]
    """Sum of the contributions of the stages before this one (read-only view)."""
    breakdown: Mapping[str, npt.NDArray[np.float32]]
    """Contribution of each earlier stage, by label."""
    tags: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Tags of each earlier stage, by label."""

    @property
    def n(self) -> int:
        """Agent slots."""
        return int(self.total.size)

    def tagged(self, tag: str) -> npt.NDArray[np.float32]:
        """Sum of the contributions so far of the stages carrying ``tag`` (read-only)."""
        parts = [v for label, v in self.breakdown.items() if tag in self.tags.get(label, ())]
        if not parts:
            return np.zeros(self.n, dtype=np.float32)
        if len(parts) == 1:
            return parts[0]
        out = parts[0] + parts[1]
        for part in parts[2:]:
            out += part
        return out
