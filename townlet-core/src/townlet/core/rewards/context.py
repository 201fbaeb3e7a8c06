"""What a reward stage sees: the towns as rows, facts about the tick, the running total.

The pipeline rewards one town or many (a vector env's towns, their agent
slots end to end as rows: see :class:`~townlet.core.ports.RowsView`).
:class:`RewardContext` and :class:`TickFacts` implement the published
:class:`~townlet.core.ports.RewardContextView` and
:class:`~townlet.core.ports.TickFactsView`.
It keeps a snapshot of the state at the end of the previous tick and
derives :class:`TickFacts` once per tick, so stages need not each diff the
world: who exited (and why), who arrived, whose town began a new episode,
needs before and after, shift states before, and this tick's events resolved
to rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.ports import RowsView

__all__ = ["Event", "RewardContext", "Snapshot", "TickFacts", "derive_facts"]

Event = tuple[int, Mapping[str, Any]]
"""``(row, event dict)`` of one event of this tick (row -1: no agent)."""


@dataclass
class Snapshot:
    """The per-row state a reward depends on, copied at the end of a tick."""

    ids: list[str]
    alive: npt.NDArray[np.bool_]
    needs: npt.NDArray[np.float32]
    present_ticks: npt.NDArray[np.int64]
    shift_state: npt.NDArray[np.int8]
    deficit: npt.NDArray[np.float32]
    """``[N, 3]`` need deficits (1 − needs)."""

    @classmethod
    def of(cls, rows: RowsView, facts: TickFacts | None = None) -> Snapshot:
        """Copy what the stages need from ``rows``. ``facts``, derived from ``rows`` as
        they are now, lend their copies of ``alive`` and the deficits."""
        a = rows.agents
        needs = a.needs.copy()
        return cls(
            ids=list(rows.agent_ids),
            alive=a.alive.copy() if facts is None else facts.alive,
            needs=needs,
            present_ticks=a.present_ticks.copy(),
            shift_state=a.shift_state.copy(),
            deficit=1.0 - needs if facts is None else facts.deficit,
        )

    def patch(self, span: slice, rows: RowsView) -> None:
        """Overwrite rows ``span`` with the matching rows of a one-town ``rows``."""
        a = rows.agents
        self.ids[span] = rows.agent_ids
        # copies first: alive and deficit may be the last tick's facts as well
        self.alive = self.alive.copy()
        self.alive[span] = a.alive
        self.needs[span] = a.needs
        self.present_ticks[span] = a.present_ticks
        self.shift_state[span] = a.shift_state
        self.deficit = self.deficit.copy()
        self.deficit[span] = 1.0 - a.needs


@dataclass(frozen=True)
class TickFacts:
    """Derived facts of the tick just simulated (arrays over rows)."""

    before: Snapshot
    """State at the end of the previous tick (or at reset)."""
    acted: npt.NDArray[np.bool_]
    """Rows whose agent was alive before the tick (they receive this tick's reward)."""
    alive: npt.NDArray[np.bool_]
    """Rows alive after the tick."""
    exited: npt.NDArray[np.bool_]
    """Agents that left town during the tick."""
    spawned: npt.NDArray[np.bool_]
    """Rows holding a newcomer that arrived during the tick."""
    fresh: npt.NDArray[np.bool_]
    """Rows whose town began a new episode just before this tick: a stage
    keeping per-row state starts these rows afresh."""
    exit_reasons: Mapping[int, str]
    """Row → exit reason (``collapse``, ``eviction``, …; ``unknown`` if not logged)."""
    events: Mapping[str, list[Event]]
    """This tick's events by kind, with the row of their ``agent``."""
    deficit: npt.NDArray[np.float32]
    """``[N, 3]`` need deficits (1 − value) after the tick."""
    deficit_before: npt.NDArray[np.float32]
    worst_deficit: npt.NDArray[np.float32]
    """``[N]`` largest need deficit of each row after the tick."""
    stayed: npt.NDArray[np.bool_]
    """Rows whose agent acted and did not exit (``acted & ~exited``)."""

    def of_kind(self, kind: str) -> list[Event]:
        """Events of one kind (empty list when none)."""
        return list(self.events.get(kind, ()))


def derive_facts(
    rows: RowsView,
    before: Snapshot,
    carried: Sequence[Sequence[Mapping[str, Any]]] = (),
    fresh: npt.NDArray[np.bool_] | None = None,
) -> TickFacts:
    """Compare ``rows`` with the previous snapshot and index this tick's events.

    ``carried[t]`` are events town ``t`` logged between the previous tick and
    this one; ``fresh`` marks rows whose town began a new episode since then.
    """
    a = rows.agents
    ids = rows.agent_ids
    alive = a.alive.copy()
    acted = before.alive
    if ids == before.ids:
        # on bools, x > y is x & ~y
        exited = acted > alive
        spawned = alive > acted
        stayed = acted & alive
    else:
        same = np.array([x == y for x, y in zip(ids, before.ids, strict=True)], dtype=bool)
        exited = acted & (~alive | ~same)
        spawned = alive & (~acted | ~same)
        stayed = acted > exited
    events: dict[str, list[Event]] = {}
    reasons: dict[int, str] = {}
    for t, world in enumerate(rows.worlds):
        logged = (*carried[t], *world.events) if carried and carried[t] else world.events
        if logged:
            _index_events(logged, rows.span(t), ids, before.ids, events, reasons)
    if np.count_nonzero(exited):
        for gone in exited.nonzero()[0].tolist():
            reasons.setdefault(gone, "unknown")
    deficit = 1.0 - a.needs
    return TickFacts(
        before=before,
        acted=acted,
        alive=alive,
        exited=exited,
        spawned=spawned,
        fresh=np.zeros(rows.n_agents, dtype=bool) if fresh is None else fresh,
        exit_reasons=reasons,
        events=events,
        deficit=deficit,
        deficit_before=before.deficit,
        worst_deficit=deficit.max(axis=1),
        stayed=stayed,
    )


def _index_events(
    logged: Sequence[Mapping[str, Any]],
    span: slice,
    ids: Sequence[str],
    ids_before: Sequence[str],
    events: dict[str, list[Event]],
    reasons: dict[int, str],
) -> None:
    """Resolve one town's events to rows (an exit to the row its agent left)."""
    off = span.start
    slot_of = {aid: off + i for i, aid in enumerate(ids[span]) if aid}
    old_slot = {aid: off + i for i, aid in enumerate(ids_before[span]) if aid}
    for ev in logged:
        agent = ev.get("agent")
        key = agent if isinstance(agent, str) else ""
        kind = str(ev.get("kind"))
        row = old_slot.get(key, -1) if kind == "exit" else slot_of.get(key, -1)
        if row < 0:
            row = slot_of.get(key, old_slot.get(key, -1))
        events.setdefault(kind, []).append((row, ev))
        if kind == "exit" and row >= 0:
            reasons[row] = str(ev.get("reason", "unknown"))


@dataclass
class RewardContext:
    """Everything a stage's :meth:`compute` may read (never write)."""

    towns: RowsView
    """The town(s) rewarded, agent slots end to end as rows: ``towns.agents.needs``
    is ``[N, 3]``, ``towns.ticks`` the tick of each row's town."""
    facts: TickFacts
    total: npt.NDArray[np.float32]
    """Sum of the contributions of the stages before this one (read-only view)."""
    breakdown: Mapping[str, npt.NDArray[np.float32]]
    """Contribution of each earlier stage, by label."""
    tags: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Tags of each earlier stage, by label."""

    @property
    def n(self) -> int:
        """Rows."""
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
