"""World state as arrays over agent slots and objects.

Agent slot ``i`` holds one citizen (``alive[i]``); empty slots are reused by
newcomers. Money is stored as integer mills (1/1000 of a money unit) so the
books balance exactly. Systems read and write these arrays; nothing keeps a
per-agent object.

:class:`AgentArrays` is the one store of per-slot state: needs, options,
queues, employment, the lifecycle counters, per-slot KPIs and the
relationship ties all live there, so the rows of a vector env's storage cover
all of it. Its arrays may be views of such a storage: write them in place
(``arr[...] = ...``), never rebind them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MILLS",
    "NO",
    "TIES",
    "AgentArrays",
    "AgentRows",
    "ObjectArrays",
    "ShiftState",
    "tile_keys",
]

MILLS: Final = 1000
"""Mills per money unit."""
NO: Final = -1
"""Sentinel for 'none' in index arrays."""
TIES: Final = 6
"""Relationship ties kept per agent (columns of ``AgentArrays.tie_*``)."""
NEVER: Final = -(10**9)
"""``last_targeted`` of a slot never picked for an arranged meet."""


def tile_keys(xy: npt.NDArray[np.int16]) -> npt.NDArray[np.int32]:
    """One int32 per ``(x, y)`` row of a C-contiguous ``[N, 2]`` int16 array (a view).

    Equal keys mean equal tiles, so "is each agent on its target's tile" is one
    comparison instead of a comparison and a reduction over the pair.
    """
    keys: npt.NDArray[np.int32] = xy.view(np.int32)[:, 0]
    return keys


class ShiftState:
    """Values of ``AgentArrays.shift_state``."""

    OFF: Final = 0
    """Outside the shift window, or unemployed."""
    PENDING: Final = 1
    """Shift started, not yet arrived, still within the absence cutoff."""
    ON_TIME: Final = 2
    LATE: Final = 3
    ABSENT: Final = 4
    NAMES: Final = ("off", "pending", "on_time", "late", "absent")


def _a(n: int, dtype: npt.DTypeLike, fill: float = 0, width: int = 0) -> npt.NDArray[Any]:
    shape = (n, width) if width else (n,)
    return np.full(shape, fill, dtype=dtype)


@dataclass
class AgentArrays:
    """Per-slot agent state. Every array's first axis is the agent slot."""

    alive: npt.NDArray[np.bool_]
    xy: npt.NDArray[np.int16]
    needs: npt.NDArray[np.float32]
    """``[N, 3]`` hunger, hygiene, energy in [0, 1]."""
    wallet: npt.NDArray[np.int64]
    """Mills."""
    inventory: npt.NDArray[np.int16]
    """``[N, 3]`` raw_food, meal, clean_clothes."""
    home: npt.NDArray[np.int16]
    """Index into the town's home places."""
    bed: npt.NDArray[np.int32]
    job: npt.NDArray[np.int16]
    """Index into ``world.jobs`` or -1."""
    desk: npt.NDArray[np.int32]
    personality: npt.NDArray[np.float32]
    """``[N, 3]`` extroversion, forgiveness, ambition in [-1, 1]."""
    patience: npt.NDArray[np.float32]
    embed_slot: npt.NDArray[np.int16]
    """Slot in the 64-entry agent-embedding namespace (observations), or -1."""
    # options and affordances
    option: npt.NDArray[np.int8]
    option_since: npt.NDArray[np.int32]
    option_switches: npt.NDArray[np.int32]
    option_status: npt.NDArray[np.int8]
    """``OptionStatus`` of the current option: active, done or failed."""
    forced: npt.NDArray[np.int8]
    """Option imposed on the slot (arranged meet, possession), or -1."""
    possessed: npt.NDArray[np.bool_]
    """Driven from the console (excluded from training data)."""
    target: npt.NDArray[np.int32]
    """Object the agent is heading for, or -1."""
    goal: npt.NDArray[np.int16]
    """Affordance intended at ``target``, or -1."""
    aff: npt.NDArray[np.int16]
    """Affordance in progress, or -1."""
    aff_left: npt.NDArray[np.int32]
    reached_at: npt.NDArray[np.int32]
    """Tick the agent last arrived on its target's tile."""
    last_ok: npt.NDArray[np.bool_]
    last_duration: npt.NDArray[np.int32]
    ctx_reset: npt.NDArray[np.bool_]
    """Set for one tick after a teleport, possession change or spawn."""
    # queues
    queue_obj: npt.NDArray[np.int32]
    queue_since: npt.NDArray[np.int32]
    jitter: npt.NDArray[np.float32]
    cooldown_until: npt.NDArray[np.int32]
    blocked: npt.NDArray[np.int16]
    """Failed moves in a row."""
    stall_until: npt.NDArray[np.int32]
    """Tick until which the agent is held up (a public argument)."""
    # employment
    shift_state: npt.NDArray[np.int8]
    arrived: npt.NDArray[np.bool_]
    present_ticks: npt.NDArray[np.int64]
    scheduled_ticks: npt.NDArray[np.int64]
    late_days: npt.NDArray[np.int32]
    absent_days: npt.NDArray[np.int32]
    shift_days: npt.NDArray[np.int32]
    employable: npt.NDArray[np.bool_]
    # lifecycle counters (see townlet.core.world.lifecycle)
    collapse_ticks: npt.NDArray[np.int32]
    """Ticks in a row with the hunger deficit above the collapse limit."""
    neglect_ticks: npt.NDArray[np.int32]
    """Ticks today with some need deficit above the neglect limit."""
    unpaid_days: npt.NDArray[np.int32]
    """Midnights in a row with rent unpaid."""
    absent_streak: npt.NDArray[np.int32]
    """Shift days in a row missed."""
    jobless_days: npt.NDArray[np.int32]
    near_death: npt.NDArray[np.bool_]
    """Some need deficit above the near-death limit (the hook fired on entering)."""
    absent_seen: npt.NDArray[np.int32]
    """``absent_days`` already counted by the lifecycle rules."""
    shifts_seen: npt.NDArray[np.int32]
    """``shift_days`` already counted by the lifecycle rules."""
    last_targeted: npt.NDArray[np.int64]
    """Tick the slot was last picked for an arranged meet (perturbation fairness)."""
    # KPIs
    ok_ticks: npt.NDArray[np.int64]
    """Ticks alive with every need above the KPI threshold."""
    alive_ticks: npt.NDArray[np.int64]
    # relationships (see townlet.core.world.relationships)
    tie_other: npt.NDArray[np.int32]
    """``[N, TIES]`` slot (in the same town) of each tie, or -1."""
    tie_trust: npt.NDArray[np.float32]
    """``[N, TIES]`` trust toward each tie, in [-1, 1]."""
    tie_familiarity: npt.NDArray[np.float32]
    tie_rivalry: npt.NDArray[np.float32]
    below_threshold: npt.NDArray[np.bool_] = field(repr=False)
    """``[N, 3]`` whether each need is already below the hook threshold."""
    spawned_at: npt.NDArray[np.int32] = field(repr=False)
    rent_due: npt.NDArray[np.int64] = field(repr=False)
    """Unpaid rent in mills."""

    @classmethod
    def allocate(cls, n: int) -> AgentArrays:
        """Empty (all slots dead) arrays for ``n`` slots."""
        return cls(
            alive=_a(n, bool),
            xy=_a(n, np.int16, 0, 2),
            needs=_a(n, np.float32, 1.0, 3),
            wallet=_a(n, np.int64),
            inventory=_a(n, np.int16, 0, 3),
            home=_a(n, np.int16, NO),
            bed=_a(n, np.int32, NO),
            job=_a(n, np.int16, NO),
            desk=_a(n, np.int32, NO),
            personality=_a(n, np.float32, 0, 3),
            patience=_a(n, np.float32),
            embed_slot=_a(n, np.int16, NO),
            option=_a(n, np.int8),
            option_since=_a(n, np.int32),
            option_switches=_a(n, np.int32),
            option_status=_a(n, np.int8),
            forced=_a(n, np.int8, NO),
            possessed=_a(n, bool),
            target=_a(n, np.int32, NO),
            goal=_a(n, np.int16, NO),
            aff=_a(n, np.int16, NO),
            aff_left=_a(n, np.int32),
            reached_at=_a(n, np.int32),
            last_ok=_a(n, bool, 1),
            last_duration=_a(n, np.int32),
            ctx_reset=_a(n, bool),
            queue_obj=_a(n, np.int32, NO),
            queue_since=_a(n, np.int32),
            jitter=_a(n, np.float32),
            cooldown_until=_a(n, np.int32),
            blocked=_a(n, np.int16),
            stall_until=_a(n, np.int32),
            shift_state=_a(n, np.int8),
            arrived=_a(n, bool),
            present_ticks=_a(n, np.int64),
            scheduled_ticks=_a(n, np.int64),
            late_days=_a(n, np.int32),
            absent_days=_a(n, np.int32),
            shift_days=_a(n, np.int32),
            employable=_a(n, bool, 1),
            collapse_ticks=_a(n, np.int32),
            neglect_ticks=_a(n, np.int32),
            unpaid_days=_a(n, np.int32),
            absent_streak=_a(n, np.int32),
            jobless_days=_a(n, np.int32),
            near_death=_a(n, bool),
            absent_seen=_a(n, np.int32),
            shifts_seen=_a(n, np.int32),
            last_targeted=_a(n, np.int64, NEVER),
            ok_ticks=_a(n, np.int64),
            alive_ticks=_a(n, np.int64),
            tie_other=_a(n, np.int32, NO, TIES),
            tie_trust=_a(n, np.float32, 0, TIES),
            tie_familiarity=_a(n, np.float32, 0, TIES),
            tie_rivalry=_a(n, np.float32, 0, TIES),
            below_threshold=_a(n, bool, 0, 3),
            spawned_at=_a(n, np.int32),
            rent_due=_a(n, np.int64),
        )

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """Every array by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def state_dict(self) -> dict[str, Any]:
        """Every array by field name (the arrays themselves: copy before keeping)."""
        return self.arrays()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Write arrays of :meth:`state_dict`'s names, shapes and dtypes in place."""
        for name, arr in self.arrays().items():
            arr[...] = state[name]

    def rows(self, span: slice) -> AgentRows:
        """Rows ``span`` (a step-1 slice) as views: one town's slots inside a vector
        env's storage."""
        views: dict[str, Any] = {name: arr[span] for name, arr in self.arrays().items()}
        out = AgentRows(**views)
        out.storage = self
        out.start = span.indices(self.alive.size)[0]
        return out

    def clear(self) -> None:
        """Every slot empty again, written in place (views stay views)."""
        empty = AgentArrays.allocate(self.alive.size)
        for name, arr in self.arrays().items():
            arr[...] = getattr(empty, name)


class AgentRows(AgentArrays):
    """Views of rows ``start …`` of ``storage`` (made by :meth:`AgentArrays.rows`)."""

    storage: AgentArrays
    start: int


@dataclass
class ObjectArrays:
    """Per-object state."""

    holder: npt.NDArray[np.int32]
    """Agent slot holding the reservation, or -1."""
    reserved_at: npt.NDArray[np.int32]
    reserved_until: npt.NDArray[np.int32]
    uses: npt.NDArray[np.int64]

    @classmethod
    def allocate(cls, n: int) -> ObjectArrays:
        """Free objects."""
        return cls(
            holder=_a(n, np.int32, NO),
            reserved_at=_a(n, np.int32),
            reserved_until=_a(n, np.int32),
            uses=_a(n, np.int64),
        )

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """Every array by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def state_dict(self) -> dict[str, Any]:
        """Every array by field name (the arrays themselves: copy before keeping)."""
        return self.arrays()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Write arrays of :meth:`state_dict`'s names, shapes and dtypes in place."""
        for name, arr in self.arrays().items():
            arr[...] = state[name]
