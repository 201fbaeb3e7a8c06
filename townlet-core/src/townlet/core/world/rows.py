"""Agent slots of one or more towns laid end to end as *rows*.

Slot ``s`` of town ``t`` is row ``offsets[t] + s``. Whatever works on many
towns at once (the world systems of :mod:`~townlet.core.world.tick`, the
batched encoders, the reward pipeline of a vector env) reads them through
:class:`TownRows`, so every per-agent array operation runs once over all
rows instead of once per town, where the fixed cost of numpy calls on a few
agents would dominate.

A :class:`TownRows` is a view of the towns as they are when it is built
(their ticks included). With one town the arrays are the world's own; so are
they for the towns of a vector env, whose agent arrays are views of the rows
of one storage (:meth:`~townlet.core.world.state.AgentArrays.rows`): then it
is ``shared`` and writes through it reach the worlds. Otherwise
``agents.<name>`` is concatenated on first access and then kept, so build a
new one after the worlds change, and never write through it.

``agents`` covers every per-slot array (option status, lifecycle counters,
KPIs, ties included). Object arrays are per town: :meth:`TownRows.objects`
lays them end to end and :meth:`TownRows.holders` gives the holder of each
row's object."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from townlet.core.world.state import AgentArrays, AgentRows

if TYPE_CHECKING:
    from townlet.core.config.models import FeaturesConfig
    from townlet.core.world.settings import WorldConfig
    from townlet.core.world.townmap import TownMap
    from townlet.core.world.world import World

__all__ = ["TownRows", "TownsConfig"]


_T = TypeVar("_T")


class _lazy(Generic[_T]):
    """``functools.cached_property`` without its lock (a cost on Python 3.11), for
    the values a :class:`TownRows` computes on first use: each instance is built
    and read by one thread."""

    def __init__(self, fn: Callable[[Any], _T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, owner: Any = None) -> _T:
        if obj is None:  # on the class: the descriptor itself, as cached_property does
            return self  # type: ignore[return-value]
        value = self.fn(obj)
        obj.__dict__[self.name] = value  # found before this descriptor from now on
        return value


def _cat(arrays: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _shared_storage(worlds: Sequence[World], n: int) -> AgentArrays | None:
    """The storage behind ``worlds`` when their agent rows tile it end to end, in order."""
    first = worlds[0].agents
    if not isinstance(first, AgentRows) or first.storage.alive.size != n:
        return None
    storage = first.storage
    offset = 0
    for w in worlds:
        rows = w.agents
        if not isinstance(rows, AgentRows) or rows.storage is not storage or rows.start != offset:
            return None
        offset += rows.alive.size
    return storage


class _Agents:
    """``AgentArrays`` of several towns, each array concatenated on first access."""

    def __init__(self, worlds: Sequence[World]) -> None:
        self._worlds = worlds
        self._cache: dict[str, npt.NDArray[Any]] = {}

    def __getattr__(self, name: str) -> npt.NDArray[Any]:
        try:
            return self._cache[name]
        except KeyError:
            arr = np.concatenate([getattr(w.agents, name) for w in self._worlds])
            self._cache[name] = arr
            return arr


@dataclass(frozen=True)
class TownsConfig:
    """The parts of the run config a world is built from: its ``world`` section,
    ``features`` and ``seed``."""

    world: WorldConfig
    features: FeaturesConfig
    seed: int


class TownRows:
    """Rows of ``worlds`` (see the module docstring). Towns must share their world
    settings and features (apart from their seeds), as the towns of a vector env do."""

    def __init__(self, worlds: Sequence[World]) -> None:
        if not worlds:
            raise ValueError("TownRows needs at least one world")
        self.worlds: tuple[World, ...] = tuple(worlds)
        sizes = [w.n_agents for w in self.worlds]
        self.sizes = sizes
        self.n_agents = sum(sizes)
        """Rows (agent slots of every town, living or not)."""
        self.offsets: list[int] = [0]
        for size in sizes[:-1]:
            self.offsets.append(self.offsets[-1] + size)
        storage = (
            self.worlds[0].agents
            if len(sizes) == 1
            else _shared_storage(self.worlds, self.n_agents)
        )
        self.shared = storage is not None
        """Whether ``agents`` are the towns' own storage (one town, or a vector env's rows):
        then writes through them reach the worlds."""
        self.agents: Any = storage if storage is not None else _Agents(self.worlds)
        """Agent arrays over rows by field name (``rows.agents.needs`` is ``[N, 3]``)."""
        self._lookups: dict[int, dict[str, int]] = {}

    @classmethod
    def of(cls, worlds: World | Sequence[World]) -> TownRows:
        """Rows of one world or of several."""
        return cls(worlds if isinstance(worlds, Sequence) else (worlds,))

    @property
    def config(self) -> TownsConfig:
        """What the towns share of their run config (that of the first town)."""
        first = self.worlds[0]
        return TownsConfig(first.settings, first.features, first.seed)

    @property
    def town(self) -> TownMap:
        """The town map the towns share (that of the first)."""
        return self.worlds[0].town

    @property
    def job_wage(self) -> npt.NDArray[np.int64]:
        """Wage per tick of each job, in mills (the same in every town)."""
        return self.worlds[0].job_wage

    def span(self, t: int) -> slice:
        """Rows of town ``t``."""
        return slice(self.offsets[t], self.offsets[t] + self.sizes[t])

    @_lazy
    def town_index(self) -> npt.NDArray[np.int64]:
        """``[N]`` town of each row."""
        if len(self.worlds) == 1:
            return np.zeros(self.n_agents, dtype=np.int64)
        return np.repeat(np.arange(len(self.worlds), dtype=np.int64), self.sizes)

    @_lazy
    def _town_of(self) -> list[int]:
        return self.town_index.tolist()  # type: ignore[no-any-return]

    def locate(self, row: int) -> tuple[World, int]:
        """The world and agent slot of ``row``."""
        if len(self.worlds) == 1:
            return self.worlds[0], row
        t = self._town_of[row]
        return self.worlds[t], row - self.offsets[t]

    def objects(self, name: str) -> npt.NDArray[Any]:
        """Per-object array ``name`` of every town end to end (object ``o`` of town ``t``
        at ``t * objects + o``): the town's own array for one town, else a fresh copy."""
        return _cat([getattr(w.objects, name) for w in self.worlds])

    def holders(
        self, rows: npt.NDArray[np.int64], objects: npt.NDArray[Any]
    ) -> npt.NDArray[np.int32]:
        """Agent slot (within its town) holding object ``objects[k]`` of row ``rows[k]``'s
        town, or -1: compare with ``slots[rows]``."""
        if len(self.worlds) == 1:
            return self.worlds[0].objects.holder[objects]  # type: ignore[no-any-return]
        n_obj = self.worlds[0].objects.holder.size
        return self.objects("holder")[self.town_index[rows] * n_obj + objects]  # type: ignore[no-any-return]

    def along_paths(
        self, kind: str, rows: npt.NDArray[np.int64], targets: npt.NDArray[Any]
    ) -> npt.NDArray[Any]:
        """``dist`` or ``step`` path field (see :mod:`~townlet.core.world.pathing`) of each
        row's town, toward ``targets`` from the row's tile."""
        xy = self.agents.xy[rows]
        fields = [getattr(w.fields, kind) for w in self.worlds]
        first = fields[0]
        if all(f is first for f in fields):  # towns with one weather share their fields
            return first[targets, xy[:, 1], xy[:, 0]]  # type: ignore[no-any-return]
        distinct: list[npt.NDArray[Any]] = []
        group = []  # per town: index of its field in `distinct`
        for f in fields:
            for g, known in enumerate(distinct):
                if f is known:
                    group.append(g)
                    break
            else:
                group.append(len(distinct))
                distinct.append(f)
        row_group = np.array(group)[self.town_index[rows]]
        out = np.empty(rows.size, dtype=first.dtype)
        for g, field in enumerate(distinct):
            pick = row_group == g
            out[pick] = field[targets[pick], xy[pick, 1], xy[pick, 0]]
        return out

    def cuts(self, rows: npt.NDArray[np.int64]) -> list[int]:
        """Where each town's part of ascending ``rows`` starts: town ``t`` holds
        ``rows[cuts[t]:cuts[t + 1]]``."""
        if len(self.worlds) == 1:
            return [0, int(rows.size)]
        bounds = np.arange(len(self.worlds) + 1)
        cuts: list[int] = np.searchsorted(self.town_index[rows], bounds).tolist()
        return cuts

    def by_town(self, rows: npt.NDArray[np.int64]) -> list[tuple[World, npt.NDArray[np.int64]]]:
        """Ascending ``rows`` split by town: (world, its slots) for each town with any."""
        cut = self.cuts(rows)
        return [
            (world, rows[cut[t] : cut[t + 1]] - self.offsets[t])
            for t, world in enumerate(self.worlds)
            if cut[t] < cut[t + 1]
        ]

    @_lazy
    def slots(self) -> npt.NDArray[np.int64]:
        """``[N]`` agent slot of each row within its town."""
        base = np.array(self.offsets, dtype=np.int64)[self.town_index]
        slots: npt.NDArray[np.int64] = np.arange(self.n_agents, dtype=np.int64) - base
        return slots

    @_lazy
    def tod(self) -> npt.NDArray[np.int64]:
        """``[N]`` tick of day of each row's town."""
        return self.ticks % self.worlds[0].clock.ticks_per_day

    @_lazy
    def ticks(self) -> npt.NDArray[np.int64]:
        """``[N]`` tick of each row's town (towns of a vector env reset independently)."""
        if len(self.worlds) == 1:
            return np.full(self.n_agents, self.worlds[0].tick, dtype=np.int64)
        return np.array([w.tick for w in self.worlds], dtype=np.int64)[self.town_index]

    @_lazy
    def agent_ids(self) -> list[str]:
        """Agent id of each row ("" for an empty slot); ids repeat across towns."""
        out: list[str] = []
        for w in self.worlds:
            out.extend(w.agent_ids)
        return out

    def row_of(self, t: int, agent_id: str) -> int:
        """Row of ``agent_id`` in town ``t``, or -1."""
        lookup = self._lookups.get(t)
        if lookup is None:
            off = self.offsets[t]
            ids = self.worlds[t].agent_ids
            lookup = self._lookups[t] = {aid: off + i for i, aid in enumerate(ids) if aid}
        return lookup.get(agent_id, -1)
