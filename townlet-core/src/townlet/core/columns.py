"""Column constants and the per-row agent columns of the published views.

Re-exported by :mod:`townlet.core.ports`; import them from there. Every array
is the simulation's own or a view of it: read it, never write it.
"""

from __future__ import annotations

from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "AMBITION",
    "CLEAN_CLOTHES",
    "ENERGY",
    "EXTROVERSION",
    "FORGIVENESS",
    "HUNGER",
    "HYGIENE",
    "ITEMS",
    "MEAL",
    "MILLS",
    "NEEDS",
    "OBJECT_TYPES",
    "OPTIONS",
    "OPTION_ACTIVE",
    "OPTION_DONE",
    "OPTION_FAILED",
    "POWER",
    "RAW_FOOD",
    "SHIFT_STATES",
    "TIES",
    "TRAITS",
    "UTILITIES",
    "WATER",
    "WEATHERS",
    "WORK",
    "AgentColumns",
    "ObjectColumns",
    "X",
    "Y",
]

# -- column constants ---------------------------------------------------------

NEEDS: Final = ("hunger", "hygiene", "energy")
"""Columns of ``agents.needs`` (and ``below_threshold``)."""
HUNGER: Final = 0
HYGIENE: Final = 1
ENERGY: Final = 2

ITEMS: Final = ("raw_food", "meal", "clean_clothes")
"""Columns of ``agents.inventory`` and of ``economy.price``."""
RAW_FOOD: Final = 0
MEAL: Final = 1
CLEAN_CLOTHES: Final = 2

UTILITIES: Final = ("power", "water")
"""Entries of ``utility_on``."""
POWER: Final = 0
WATER: Final = 1

TRAITS: Final = ("extroversion", "forgiveness", "ambition")
"""Columns of ``agents.personality``."""
EXTROVERSION: Final = 0
FORGIVENESS: Final = 1
AMBITION: Final = 2

X: Final = 0
"""Column of ``agents.xy`` (and of ``town.object_xy``) holding x (the map column)."""
Y: Final = 1
"""Column holding y (the map row): a ``[H, W]`` grid is indexed ``[y, x]``."""

OPTIONS: Final = (
    "wait",
    "get_fed",
    "get_clean",
    "go_to_work",
    "shop_groceries",
    "sleep",
    "socialise",
)
"""Option names by id: the action space of a policy (``agents.option``)."""
OPTION_ACTIVE: Final = 0
"""``agents.option_status``: the option is running."""
OPTION_DONE: Final = 1
"""``agents.option_status``: the option completed."""
OPTION_FAILED: Final = 2
"""``agents.option_status``: the option failed (or was interrupted)."""

SHIFT_STATES: Final = ("off", "pending", "on_time", "late", "absent")
"""Values of ``agents.shift_state`` by index."""
WEATHERS: Final = ("sunny", "rainy", "cold")
"""Values of ``weather``."""
OBJECT_TYPES: Final = (
    "bed",
    "fridge",
    "stove",
    "shower",
    "wardrobe",
    "till",
    "desk",
    "shelf",
    "table",
)
"""Values of ``town.object_types``, in a fixed order (encoders code type ``k`` as ``k + 1``)."""
MILLS: Final = 1000
"""Money is stored in integer mills: 1000 per money unit."""
WORK: Final = -2
"""``agents.aff`` and ``agents.goal`` while working a shift at the desk."""
TIES: Final = 6
"""Ties per agent: the second axis of the ``tie_*`` columns."""


# -- per-agent and per-object columns -------------------------------------------


@runtime_checkable
class AgentColumns(Protocol):
    """Per-row agent state. Every array's first axis is the row ``[N]``; rows of
    empty slots (``alive`` false) hold stale values. ``-1`` means "none" in
    index columns. Ticks are absolute (since the town started)."""

    # identity and body
    @property
    def alive(self) -> npt.NDArray[np.bool_]:
        """``[N]`` bool: the slot holds a citizen now."""
        ...

    @property
    def xy(self) -> npt.NDArray[np.int16]:
        """``[N, 2]`` int16 tile of each agent: columns :data:`X`, :data:`Y`."""
        ...

    @property
    def needs(self) -> npt.NDArray[np.float32]:
        """``[N, 3]`` float32 in [0, 1], 1 = satisfied: :data:`HUNGER`, :data:`HYGIENE`,
        :data:`ENERGY`."""
        ...

    @property
    def below_threshold(self) -> npt.NDArray[np.bool_]:
        """``[N, 3]`` bool: each need is below the hook threshold (``on_need_threshold``)."""
        ...

    @property
    def personality(self) -> npt.NDArray[np.float32]:
        """``[N, 3]`` float32 in [-1, 1], fixed at spawn: :data:`EXTROVERSION`,
        :data:`FORGIVENESS`, :data:`AMBITION`."""
        ...

    @property
    def patience(self) -> npt.NDArray[np.float32]:
        """``[N]`` float32 in [0, 1): queue priority bonus, fixed at spawn."""
        ...

    @property
    def embed_slot(self) -> npt.NDArray[np.int16]:
        """``[N]`` int16 slot in the agent-identity embedding namespace, or -1."""
        ...

    @property
    def spawned_at(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 tick the agent arrived."""
        ...

    @property
    def ctx_reset(self) -> npt.NDArray[np.bool_]:
        """``[N]`` bool: set for one tick after a spawn, teleport or possession change."""
        ...

    # money, goods, home
    @property
    def wallet(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 money in mills (:data:`MILLS` per unit); may go negative."""
        ...

    @property
    def rent_due(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 unpaid rent in mills."""
        ...

    @property
    def inventory(self) -> npt.NDArray[np.int16]:
        """``[N, 3]`` int16 units held: :data:`RAW_FOOD`, :data:`MEAL`, :data:`CLEAN_CLOTHES`."""
        ...

    @property
    def home(self) -> npt.NDArray[np.int16]:
        """``[N]`` int16 index into the town's home places
        (``town.place_of_kind("home")``)."""
        ...

    @property
    def bed(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 object index of the agent's bed, or -1."""
        ...

    # options, targets, affordances
    @property
    def option(self) -> npt.NDArray[np.int8]:
        """``[N]`` int8 current option id (index into :data:`OPTIONS`)."""
        ...

    @property
    def option_status(self) -> npt.NDArray[np.int8]:
        """``[N]`` int8 :data:`OPTION_ACTIVE`, :data:`OPTION_DONE` or :data:`OPTION_FAILED`."""
        ...

    @property
    def option_since(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 tick the current option started."""
        ...

    @property
    def option_switches(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 times the slot switched to a different option."""
        ...

    @property
    def forced(self) -> npt.NDArray[np.int8]:
        """``[N]`` int8 option imposed whatever the policy says (console, arranged
        meeting), or -1."""
        ...

    @property
    def possessed(self) -> npt.NDArray[np.bool_]:
        """``[N]`` bool: driven from the operator console (keep out of training data)."""
        ...

    @property
    def target(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 object the agent is heading for or using, or -1."""
        ...

    @property
    def goal(self) -> npt.NDArray[np.int16]:
        """``[N]`` int16 affordance intended at ``target``, :data:`WORK`, or -1."""
        ...

    @property
    def aff(self) -> npt.NDArray[np.int16]:
        """``[N]`` int16 affordance in progress (index into ``affordances.ids``),
        :data:`WORK` while working a shift, or -1."""
        ...

    @property
    def aff_left(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 ticks left of the affordance in progress."""
        ...

    @property
    def reached_at(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 tick the agent last arrived on its target's tile."""
        ...

    @property
    def last_ok(self) -> npt.NDArray[np.bool_]:
        """``[N]`` bool: the last affordance succeeded."""
        ...

    @property
    def last_duration(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 ticks the last completed affordance took."""
        ...

    # queues and movement
    @property
    def queue_obj(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 object whose queue the agent waits in, or -1."""
        ...

    @property
    def queue_since(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 tick the agent joined that queue."""
        ...

    @property
    def jitter(self) -> npt.NDArray[np.float32]:
        """``[N]`` float32 in [0, 1): random tie-break of queue priority, drawn on joining."""
        ...

    @property
    def cooldown_until(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 tick until which the agent's queue priority is lowered (fairness)."""
        ...

    @property
    def blocked(self) -> npt.NDArray[np.int16]:
        """``[N]`` int16 failed moves in a row."""
        ...

    @property
    def stall_until(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 tick until which the agent is held up (a public argument)."""
        ...

    # work
    @property
    def job(self) -> npt.NDArray[np.int16]:
        """``[N]`` int16 job index (into ``job_start``, ``job_end``, ``job_wage``), or -1."""
        ...

    @property
    def desk(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 object index of the agent's desk, or -1."""
        ...

    @property
    def employable(self) -> npt.NDArray[np.bool_]:
        """``[N]`` bool: the unemployment rule may hire the agent again."""
        ...

    @property
    def shift_state(self) -> npt.NDArray[np.int8]:
        """``[N]`` int8 today's shift: index into :data:`SHIFT_STATES`."""
        ...

    @property
    def arrived(self) -> npt.NDArray[np.bool_]:
        """``[N]`` bool: reached the desk during today's shift."""
        ...

    @property
    def present_ticks(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 ticks worked at the desk during shifts (since arrival)."""
        ...

    @property
    def scheduled_ticks(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 shift ticks scheduled (since arrival)."""
        ...

    @property
    def late_days(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 shifts arrived late."""
        ...

    @property
    def absent_days(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 shifts missed."""
        ...

    @property
    def shift_days(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 shifts started."""
        ...

    # lifecycle counters (exit rules)
    @property
    def collapse_ticks(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 consecutive ticks with the hunger deficit above the collapse level."""
        ...

    @property
    def neglect_ticks(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 ticks today with the worst need deficit above the neglect level."""
        ...

    @property
    def near_death(self) -> npt.NDArray[np.bool_]:
        """``[N]`` bool: inside the collapse danger zone (``on_agent_near_death`` fired)."""
        ...

    @property
    def unpaid_days(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 consecutive midnights with rent unpaid (eviction rule)."""
        ...

    @property
    def absent_streak(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 consecutive shifts missed (firing rule)."""
        ...

    @property
    def jobless_days(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 consecutive days without a job (unemployment rule)."""
        ...

    @property
    def absent_seen(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 ``absent_days`` already counted by the lifecycle rules."""
        ...

    @property
    def shifts_seen(self) -> npt.NDArray[np.int32]:
        """``[N]`` int32 ``shift_days`` already counted by the lifecycle rules."""
        ...

    # KPIs
    @property
    def ok_ticks(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 ticks alive with every need above the KPI threshold."""
        ...

    @property
    def alive_ticks(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 ticks alive (the denominator of ``ok_ticks``)."""
        ...

    # relationships: up to TIES directional ties per agent
    @property
    def tie_other(self) -> npt.NDArray[np.int32]:
        """``[N, 6]`` int32 agent slot (within the same town) of each tie, or -1. Over
        several towns, its row is ``tie_other + (row - rows.slots[row])``."""
        ...

    @property
    def tie_trust(self) -> npt.NDArray[np.float32]:
        """``[N, 6]`` float32 trust toward each tie, in [-1, 1] (0 where no tie)."""
        ...

    @property
    def tie_familiarity(self) -> npt.NDArray[np.float32]:
        """``[N, 6]`` float32 familiarity with each tie, in [-1, 1]."""
        ...

    @property
    def tie_rivalry(self) -> npt.NDArray[np.float32]:
        """``[N, 6]`` float32 rivalry toward each tie, in [-1, 1]."""
        ...


@runtime_checkable
class ObjectColumns(Protocol):
    """Per-object state of one town; the first axis is the object index ``[O]``."""

    @property
    def holder(self) -> npt.NDArray[np.int32]:
        """``[O]`` int32 agent slot holding the object's reservation, or -1."""
        ...

    @property
    def reserved_at(self) -> npt.NDArray[np.int32]:
        """``[O]`` int32 tick the reservation was granted."""
        ...

    @property
    def reserved_until(self) -> npt.NDArray[np.int32]:
        """``[O]`` int32 tick the reservation times out."""
        ...

    @property
    def uses(self) -> npt.NDArray[np.int64]:
        """``[O]`` int64 completed uses."""
        ...
