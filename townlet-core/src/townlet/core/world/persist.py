"""Capturing and restoring the complete mutable state of a world.

Every stateful part of a world (:meth:`World.stateful
<townlet.core.world.world.World.stateful>`: the agent and object stores, the
economy, KPIs, lifecycle, embeddings, social counters, narrator,
perturbations, RNG streams and the world's own values) has a
``state_dict()`` returning numpy arrays and JSON-able values by key, and a
``load_state_dict()`` taking the same back. :func:`capture` gathers them into
named arrays (``section.key``, e.g. ``agents.needs``) and one JSON-able mapping
per section; :func:`restore` checks every name, shape, dtype and required key
against the receiving world and every index and value range (positions on the
map, object, job, affordance, option and slot indices, needs in [0, 1],
``tick >= 0``) *before* changing anything. Nested values (ledgers, RNG
states, perturbation records) are parsed by the parts themselves while
applying, so :func:`restore` keeps a copy of the current state and puts it
back if applying raises or the result breaks an invariant
(:func:`~townlet.core.world.invariants.violations`): a refused restore leaves
the world exactly as it was. :func:`digest` hashes exactly what :func:`capture`
returns. Static things (the town, manifests, config) are not captured: a
snapshot is restored into a world built from the same config.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["StateMismatch", "Stateful", "capture", "digest", "restore"]

Arrays = dict[str, npt.NDArray[Any]]
Sections = dict[str, dict[str, Any]]


class StateMismatch(ValueError):
    """Captured state does not fit the receiving world (names, shapes, dtypes or keys)."""


class Stateful(Protocol):
    """A part of a world that saves and restores its own state."""

    def state_dict(self) -> dict[str, Any]:
        """Numpy arrays (the live ones: callers copy) and JSON-able values by key."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Take back what :meth:`state_dict` returned (already validated)."""
        ...


def _collect(world: World) -> tuple[Arrays, Sections]:
    """Every part's arrays (live, by ``section.key``) and values (by section)."""
    arrays: Arrays = {}
    sections: Sections = {}
    for section, part in world.stateful().items():
        values: dict[str, Any] = {}
        for key, value in part.state_dict().items():
            if isinstance(value, np.ndarray):
                arrays[f"{section}.{key}"] = value
            else:
                values[key] = value
        if values:
            sections[section] = values
    return arrays, sections


def capture(world: World) -> tuple[Arrays, Sections]:
    """Arrays and JSON-able state that together determine every future tick (copies)."""
    arrays, sections = _collect(world)
    return {name: np.array(arr) for name, arr in arrays.items()}, copy.deepcopy(sections)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-able state")


def digest(world: World) -> str:
    """Digest of what :func:`capture` returns: equal digests, equal persisted state."""
    arrays, sections = _collect(world)
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        arr = arrays[name]
        h.update(f"{name}:{arr.dtype.str}{arr.shape}".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(json.dumps(sections, sort_keys=True, default=_plain).encode())
    return h.hexdigest()


def _kind(value: Any) -> str:
    """JSON kind of a state value (ints and floats are both numbers)."""
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, int | float | np.number):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "mapping"
    return "null" if value is None else type(value).__name__


def _check(world: World, arrays: Mapping[str, npt.NDArray[Any]], state: Mapping[str, Any]) -> None:
    """Raise :class:`StateMismatch` unless ``arrays`` and ``state`` fit ``world``."""
    mine, sections = _collect(world)
    missing = sorted(set(mine) - set(arrays))
    extra = sorted(set(arrays) - set(mine))
    if missing or extra:
        raise StateMismatch(f"arrays missing {missing} / unexpected {extra}")
    for name, current in mine.items():
        new = arrays[name]
        if new.shape != current.shape or new.dtype != current.dtype:
            raise StateMismatch(
                f"array {name}: snapshot has {new.dtype}{list(new.shape)}, "
                f"this world needs {current.dtype}{list(current.shape)}"
            )
    for section, values in sections.items():
        part = state.get(section)
        if not isinstance(part, Mapping):
            raise StateMismatch(f"state section {section!r} is missing")
        absent = [key for key in values if key not in part]
        if absent:
            raise StateMismatch(f"state {section} lacks {', '.join(absent)}")
        for key, value in values.items():
            if _kind(part[key]) != _kind(value):
                raise StateMismatch(
                    f"state {section}.{key}: snapshot has a {_kind(part[key])}, "
                    f"this world needs a {_kind(value)}"
                )
    world.check_state_dict(state["world"])


def _bounds(world: World) -> dict[str, tuple[int, int]]:
    """Inclusive ``(low, high)`` of every index array, from the receiving world."""
    from townlet.core.world.options import OPTIONS
    from townlet.core.world.queues import WORK

    n_obj = len(world.town.object_ids) - 1
    n_aff = len(world.affordances.ids) - 1
    slots = world.n_agents - 1
    return {
        "agents.target": (-1, n_obj),
        "agents.queue_obj": (-1, n_obj),
        "agents.bed": (-1, n_obj),
        "agents.desk": (-1, n_obj),
        "agents.job": (-1, len(world.settings.jobs.jobs) - 1),
        "agents.home": (-1, len(world.home_places) - 1),
        "agents.aff": (WORK, n_aff),
        "agents.goal": (WORK, n_aff),
        "agents.option": (-1, len(OPTIONS) - 1),
        "agents.forced": (-1, len(OPTIONS) - 1),
        "agents.tie_other": (-1, slots),
        "objects.holder": (-1, slots),
    }


def _check_ranges(
    world: World, arrays: Mapping[str, npt.NDArray[Any]], state: Mapping[str, Any]
) -> None:
    """Raise :class:`StateMismatch` unless every index and value is in range."""
    for name, (low, high) in _bounds(world).items():
        arr = arrays.get(name)
        if arr is not None and arr.size and (int(arr.min()) < low or int(arr.max()) > high):
            raise StateMismatch(
                f"array {name}: values {int(arr.min())}..{int(arr.max())} outside {low}..{high}"
            )
    height, width = world.town.walkable.shape
    xy = arrays["agents.xy"]
    if xy.size and (
        xy[:, 0].min() < 0
        or xy[:, 0].max() >= width
        or xy[:, 1].min() < 0
        or xy[:, 1].max() >= height
    ):
        raise StateMismatch(f"array agents.xy: a position lies outside the {width}x{height} map")
    for name, arr in arrays.items():
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise StateMismatch(f"array {name}: NaN or infinite values")
    needs = arrays["agents.needs"]
    if needs.size and (needs.min() < 0 or needs.max() > 1):
        raise StateMismatch("array agents.needs: values outside [0, 1]")
    tick = state["world"]["tick"]
    if not isinstance(tick, int) or isinstance(tick, bool) or tick < 0:
        raise StateMismatch(f"state world.tick: {tick!r} is not a tick (an integer >= 0)")


def _apply(world: World, arrays: Mapping[str, npt.NDArray[Any]], state: Mapping[str, Any]) -> None:
    for section, part in world.stateful().items():
        values = dict(state.get(section, {}))
        for key, value in part.state_dict().items():
            if isinstance(value, np.ndarray):
                values[key] = arrays[f"{section}.{key}"]
        part.load_state_dict(values)


def restore(world: World, arrays: Mapping[str, npt.NDArray[Any]], state: Mapping[str, Any]) -> None:
    """Overwrite ``world`` with captured state, or raise :class:`StateMismatch` untouched.

    Arrays are written in place: agent arrays may be views of a vector env's storage.
    """
    from townlet.core.world.invariants import violations

    _check(world, arrays, state)
    _check_ranges(world, arrays, state)
    saved = capture(world)
    try:
        _apply(world, arrays, state)
        broken = violations(world)
    except Exception as exc:  # a nested value the parts could not take
        _apply(world, *saved)
        raise StateMismatch(f"state does not load ({type(exc).__name__}: {exc})") from exc
    if broken:
        _apply(world, *saved)
        raise StateMismatch(f"restored world is unsound: {'; '.join(broken[:3])}")
