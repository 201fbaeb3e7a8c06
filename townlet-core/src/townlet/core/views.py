"""The read-only views of the towns that plugins are handed.

Re-exported by :mod:`townlet.core.ports`; import them from there.

A *row* is one agent slot. One town's slots are rows ``0 … N-1``; the towns
of a vector env lie end to end (slot ``s`` of town ``t`` is row
``offsets[t] + s``). Encoders and policies read a :class:`RowsView` (one
town or many), reward stages a :class:`RewardContextView` (whose ``towns``
is a :class:`RowsView`), hooks a :class:`WorldView` (one town). Every array
is the simulation's own or a view of it: read it, never write it.

These are structural protocols: the simulation's classes satisfy them
without inheriting from them, and this module imports nothing of the
simulation, so a plugin typed against it does not depend on world internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from townlet.core.columns import AgentColumns, ObjectColumns

__all__ = [
    "AffordancesView",
    "ClockView",
    "EconomyView",
    "FeaturesView",
    "PathFieldsView",
    "QueuesView",
    "RowsView",
    "RunConfigView",
    "StagesView",
    "TownMapView",
    "WorldSettingsView",
    "WorldView",
]

# -- one town's static parts ------------------------------------------------------


@runtime_checkable
class TownMapView(Protocol):
    """Static geometry of a town (its town file). Object ``o`` sits at ``object_xy[o]``."""

    @property
    def name(self) -> str:
        """The town's name."""
        ...

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` in tiles."""
        ...

    @property
    def walkable(self) -> npt.NDArray[np.bool_]:
        """``[H, W]`` bool: tiles of the map agents may stand on (before closures)."""
        ...

    @property
    def places(self) -> Mapping[str, tuple[str, tuple[int, int, int, int]]]:
        """Place id → (kind, (x0, y0, x1, y1)), in file order."""
        ...

    @property
    def object_ids(self) -> Sequence[str]:
        """``[O]`` stable id of each object."""
        ...

    @property
    def object_types(self) -> Sequence[str]:
        """``[O]`` type of each object (``bed``, ``fridge``, ``stove``, ``shower``, …)."""
        ...

    @property
    def object_places(self) -> Sequence[str]:
        """``[O]`` place id of each object."""
        ...

    @property
    def object_xy(self) -> npt.NDArray[np.int16]:
        """``[O, 2]`` int16 tile of each object: columns :data:`X`, :data:`Y`."""
        ...

    @property
    def spawn_points(self) -> npt.NDArray[np.int16]:
        """``[P, 2]`` int16 tiles where newcomers arrive."""
        ...

    def objects_of_type(self, object_type: str) -> npt.NDArray[np.int64]:
        """Indices of the objects of one type, ascending."""
        ...

    def objects_in_place(self, place: str) -> npt.NDArray[np.int64]:
        """Indices of the objects in one place, ascending."""
        ...

    def place_of_kind(self, kind: str) -> Sequence[str]:
        """Place ids of one kind (``home``, ``cafe``, ``office``, …), in file order."""
        ...


@runtime_checkable
class PathFieldsView(Protocol):
    """Shortest paths to every object over the tiles open now (recomputed when tiles
    close or the weather changes the cost of outdoor tiles)."""

    @property
    def dist(self) -> npt.NDArray[np.float32]:
        """``[O, H, W]`` float32 path cost from tile ``[y, x]`` to object ``o``'s tile;
        ``inf`` where unreachable."""
        ...

    @property
    def step(self) -> npt.NDArray[np.int8]:
        """``[O, H, W]`` int8 direction of the first step from ``[y, x]`` toward object
        ``o``: 0 north (y - 1), 1 east (x + 1), 2 south, 3 west; -1 none or arrived."""
        ...


@runtime_checkable
class ClockView(Protocol):
    """Sim time: a day is ``ticks_per_day`` ticks, tick 0 is midnight of day 0."""

    @property
    def ticks_per_day(self) -> int:
        """Ticks in one sim day."""
        ...

    @property
    def ticks_per_hour(self) -> int:
        """Ticks in one sim hour (at least 1)."""
        ...

    def tick_of_day(self, tick: int) -> int:
        """Ticks since the last midnight."""
        ...

    def ticks_from_minutes(self, minutes: float) -> int:
        """Ticks spanning ``minutes`` sim minutes (rounded)."""
        ...


@runtime_checkable
class EconomyView(Protocol):
    """Shop prices of one town."""

    @property
    def price(self) -> npt.NDArray[np.int64]:
        """``[3]`` int64 current price of each item in mills (see :data:`ITEMS`)."""
        ...


@runtime_checkable
class AffordancesView(Protocol):
    """The affordance manifest in force (indexed by ``agents.aff``)."""

    @property
    def ids(self) -> Sequence[str]:
        """``[A]`` affordance ids (``eat``, ``shower``, ``sleep``, …)."""
        ...

    @property
    def object_type(self) -> Sequence[str]:
        """``[A]`` object type offering each affordance."""
        ...

    @property
    def duration(self) -> npt.NDArray[np.int32]:
        """``[A]`` int32 ticks each affordance takes."""
        ...


# -- the run config, as far as the views need it -----------------------------------


class StagesView(Protocol):
    """``features.stages``: the curriculum's feature stages."""

    @property
    def relationships(self) -> str:
        """``off``, ``A`` (ties exist), ``B`` (visible in observations) or ``C``
        (they drive behaviour)."""
        ...

    @property
    def social_rewards(self) -> str:
        """``off``, ``C1`` (chats pay), ``C2`` (and avoiding rivals) or ``C3``
        (and tie quality)."""
        ...


class FeaturesView(Protocol):
    """``features`` of the run config."""

    @property
    def stages(self) -> StagesView:
        """Feature stages."""
        ...


class QueuesView(Protocol):
    """``world.queues`` of the run config."""

    @property
    def ghost_step_after(self) -> int:
        """Failed moves in a row after which an agent may step through others."""
        ...


class WorldSettingsView(Protocol):
    """``world`` of the run config."""

    @property
    def agents(self) -> int:
        """Agent slots per town."""
        ...

    @property
    def ticks_per_day(self) -> int:
        """Ticks in one sim day."""
        ...

    @property
    def queues(self) -> QueuesView:
        """Queue settings."""
        ...


class RunConfigView(Protocol):
    """The run config the towns were built from (read-only; see docs/config.md)."""

    @property
    def seed(self) -> int:
        """Run seed (each town of a vector env has its own)."""
        ...

    @property
    def world(self) -> WorldSettingsView:
        """World settings."""
        ...

    @property
    def features(self) -> FeaturesView:
        """Feature switches and curriculum stages."""
        ...


# -- one town ------------------------------------------------------------------------


@runtime_checkable
class WorldView(Protocol):
    """One running town, read-only: what hooks receive as ``world`` and what a
    :class:`RowsView` holds per town."""

    @property
    def tick(self) -> int:
        """Ticks simulated since the town started."""
        ...

    @property
    def n_agents(self) -> int:
        """Agent slots (living or not): the first axis of every ``agents`` column."""
        ...

    @property
    def agents(self) -> AgentColumns:
        """Per-slot agent state."""
        ...

    @property
    def agent_ids(self) -> Sequence[str]:
        """``[N]`` stable id of each slot's agent (``""`` for an empty slot)."""
        ...

    @property
    def agent_names(self) -> Sequence[str]:
        """``[N]`` display name of each slot's agent (``""`` for an empty slot)."""
        ...

    @property
    def objects(self) -> ObjectColumns:
        """Per-object state (reservations)."""
        ...

    @property
    def town(self) -> TownMapView:
        """Static geometry."""
        ...

    @property
    def walkable(self) -> npt.NDArray[np.bool_]:
        """``[H, W]`` bool: tiles open to walk on now (the map's less closed tiles)."""
        ...

    @property
    def fields(self) -> PathFieldsView:
        """Shortest paths to every object over the open tiles."""
        ...

    @property
    def clock(self) -> ClockView:
        """Sim time."""
        ...

    @property
    def weather(self) -> str:
        """One of :data:`WEATHERS`."""
        ...

    @property
    def utility_on(self) -> npt.NDArray[np.bool_]:
        """``[2]`` bool: :data:`POWER`, :data:`WATER` are on."""
        ...

    @property
    def economy(self) -> EconomyView:
        """Prices."""
        ...

    @property
    def affordances(self) -> AffordancesView:
        """The affordance manifest in force."""
        ...

    @property
    def job_start(self) -> npt.NDArray[np.int64]:
        """``[J]`` int64 tick of day each job's shift starts."""
        ...

    @property
    def job_end(self) -> npt.NDArray[np.int64]:
        """``[J]`` int64 tick of day each job's shift ends."""
        ...

    @property
    def job_wage(self) -> npt.NDArray[np.int64]:
        """``[J]`` int64 wage per tick worked, in mills."""
        ...

    @property
    def events(self) -> Sequence[Mapping[str, Any]]:
        """Events logged during the current tick (``kind``, ``agent`` id, fields),
        in order; cleared when the next tick starts."""
        ...

    def action_masks(self) -> npt.NDArray[np.bool_]:
        """``[N, 7]`` bool: options each slot may choose this tick (by :data:`OPTIONS` id)."""
        ...


# -- many towns as rows -------------------------------------------------------------


@runtime_checkable
class RowsView(Protocol):
    """The agent slots of one town, or of several towns of one config end to end,
    as rows (see the module docstring). Encoders encode it, batch policies act on
    it, and reward stages see it as ``ctx.towns``. The towns share their config
    (apart from seeds) and their town map."""

    @property
    def worlds(self) -> Sequence[WorldView]:
        """Each town, in row order: per-town state (fields, objects, weather, …)."""
        ...

    @property
    def config(self) -> RunConfigView:
        """The config the towns share."""
        ...

    @property
    def town(self) -> TownMapView:
        """The town map the towns share."""
        ...

    @property
    def n_agents(self) -> int:
        """Rows ``N``: agent slots of every town, living or not."""
        ...

    @property
    def offsets(self) -> Sequence[int]:
        """``[T]`` first row of each town."""
        ...

    @property
    def sizes(self) -> Sequence[int]:
        """``[T]`` rows (agent slots) of each town."""
        ...

    @property
    def agents(self) -> AgentColumns:
        """Agent state over rows (``agents.needs`` is ``[N, 3]``)."""
        ...

    @property
    def town_index(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 town of each row."""
        ...

    @property
    def slots(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 agent slot of each row within its town."""
        ...

    @property
    def ticks(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 tick of each row's town (towns of a vector env reset apart)."""
        ...

    @property
    def tod(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 tick of day of each row's town."""
        ...

    @property
    def agent_ids(self) -> Sequence[str]:
        """``[N]`` agent id of each row (``""`` when empty); ids repeat across towns."""
        ...

    @property
    def job_wage(self) -> npt.NDArray[np.int64]:
        """``[J]`` int64 wage per tick of each job in mills (the same in every town)."""
        ...

    def span(self, t: int) -> slice:
        """Rows of town ``t``."""
        ...

    def row_of(self, t: int, agent_id: str) -> int:
        """Row of ``agent_id`` in town ``t``, or -1."""
        ...

    def along_paths(
        self, kind: str, rows: npt.NDArray[np.int64], targets: npt.NDArray[Any]
    ) -> npt.NDArray[Any]:
        """For each of ``rows``, its town's ``dist`` (float32 path cost) or ``step``
        (int8 first-step direction) field toward object ``targets[i]`` from the row's
        tile (see :class:`PathFieldsView`)."""
        ...
