"""Capturing and restoring the complete mutable state of a world.

:func:`capture` returns named numpy arrays plus a JSON-able mapping of
everything else (counters, queues of pending arrivals, active perturbations,
narrator memory, RNG states). :func:`restore` checks every name, shape and
dtype against the receiving world *before* changing anything, so a mismatch
leaves the world untouched. Static things (the town, manifests, config) are
not captured: a snapshot is restored into a world built from the same config.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from townlet.core.world.perturbations import Active, door_mask

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["StateMismatch", "capture", "restore"]

_LIFECYCLE_ARRAYS = (
    "collapse_ticks",
    "neglect_ticks",
    "unpaid_days",
    "absent_streak",
    "jobless_days",
    "near_death",
    "_absent_seen",
    "_shifts_seen",
)
_KPI_COUNTS = (
    "agent_ticks",
    "ok_agent_ticks",
    "steps",
    "blocked_moves",
    "ghost_steps",
    "reservations",
    "queue_wait_ticks",
    "invalid_options",
    "option_switches",
)


class StateMismatch(ValueError):
    """Captured state does not fit the receiving world (names, shapes or dtypes)."""


def _array_homes(world: World) -> dict[str, tuple[object, str]]:
    """Every captured array: name → (owner object, attribute)."""
    homes: dict[str, tuple[object, str]] = {}
    for prefix, owner in (("agents", world.agents), ("objects", world.objects)):
        for name in owner.arrays():
            homes[f"{prefix}.{name}"] = (owner, name)
    for name in world.relations.arrays():
        homes[f"relations.{name}"] = (world.relations, name)
    for name in (
        "utility_on",
        "utility_back_at",
        "utility_forced",
        "option_status",
        "forced",
        "employable",
        "walkable",
        "possessed",
    ):
        homes[f"world.{name}"] = (world, name)
    for name in ("price", "price_multiplier", "stock"):
        homes[f"economy.{name}"] = (world.economy, name)
    for name in ("ok_ticks", "alive_ticks"):
        homes[f"kpi.{name}"] = (world.kpi, name)
    for name in _LIFECYCLE_ARRAYS:
        homes[f"lifecycle.{name}"] = (world.lifecycle, name)
    for name in ("in_use", "freed_at"):
        homes[f"embeddings.{name}"] = (world.lifecycle.embeddings, name)
    homes["perturbations.last_targeted"] = (world.perturbations, "last_targeted")
    return homes


def capture(world: World) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """Arrays and JSON-able state that together determine every future tick."""
    arrays = {
        name: np.array(getattr(owner, attr)) for name, (owner, attr) in _array_homes(world).items()
    }
    soc = world.social
    nar = world.narrator
    life = world.lifecycle
    pert = world.perturbations
    state: dict[str, Any] = {
        "tick": world.tick,
        "weather": world.weather,
        "serial": world._serial,
        "agent_ids": list(world.agent_ids),
        "agent_names": list(world.agent_names),
        "closures": sorted(world._closures),
        "affordances_checksum": world.affordances.checksum,
        "economy": {"ledger": dict(world.economy.ledger), "departed": world.economy.departed},
        "kpi": {
            "completions": dict(world.kpi.completions),
            "failures": dict(world.kpi.failures),
            **{name: getattr(world.kpi, name) for name in _KPI_COUNTS},
        },
        "event_counts": dict(world.event_counts),
        "social": {
            "conflicts": dict(soc.conflicts),
            "intensity": soc.intensity,
            "conflicts_today": soc.conflicts_today,
            "arguments": soc.arguments,
            "chats": soc.chats,
            "good_chats": soc.good_chats,
            "shared_meals": soc.shared_meals,
            "pairs_clashed": sorted([list(p) for p in soc.pairs_clashed]),
        },
        "narrator": {
            "said": nar.said,
            "dropped": nar.dropped,
            "last_category": dict(nar._last_category),
            "recent": [list(r) for r in nar._recent],
            "hour": nar._hour,
            "hour_count": nar._hour_count,
        },
        "lifecycle": {
            "exits_today": life.exits_today,
            "last_exit": life.last_exit,
            "suppressed_until": life.suppressed_until,
            "pending": [list(p) for p in life.pending],
            "exits": life.exits,
            "arrivals": life.arrivals,
            "mortality": life.mortality,
            "max_exits_per_day": life.max_exits_per_day,
            "exit_cooldown": life.exit_cooldown,
            "spawn_delay": list(life.spawn_delay),
            "collapse_deficit": life.collapse_deficit,
        },
        "perturbations": {
            "active": [
                {"id": p.id, "kind": p.kind, "start": p.start, "until": p.until, "params": p.params}
                for p in pert.active
            ],
            "started": pert.started,
            "next_id": pert._next_id,
        },
        "rng": world.rng.state(),
    }
    return arrays, state


_REQUIRED_STATE = {
    "": (
        "tick",
        "weather",
        "serial",
        "agent_ids",
        "agent_names",
        "closures",
        "economy",
        "kpi",
        "event_counts",
        "social",
        "narrator",
        "lifecycle",
        "perturbations",
        "rng",
    ),
    "economy": ("ledger", "departed"),
    "kpi": ("completions", "failures", *_KPI_COUNTS),
    "social": (
        "conflicts",
        "intensity",
        "conflicts_today",
        "arguments",
        "chats",
        "good_chats",
        "shared_meals",
        "pairs_clashed",
    ),
    "narrator": ("said", "dropped", "last_category", "recent", "hour", "hour_count"),
    "lifecycle": (
        "exits_today",
        "last_exit",
        "suppressed_until",
        "pending",
        "exits",
        "arrivals",
        "mortality",
        "max_exits_per_day",
        "exit_cooldown",
        "spawn_delay",
        "collapse_deficit",
    ),
    "perturbations": ("active", "started", "next_id"),
    "rng": ("world", "events", "policy"),
}


def _check_state(state: Mapping[str, Any]) -> None:
    for section, keys in _REQUIRED_STATE.items():
        part = state if not section else state.get(section)
        if not isinstance(part, Mapping):
            raise StateMismatch(f"state section {section!r} is missing")
        absent = [k for k in keys if k not in part]
        if absent:
            raise StateMismatch(f"state {section or 'root'} lacks {', '.join(absent)}")


def restore(world: World, arrays: Mapping[str, npt.NDArray[Any]], state: Mapping[str, Any]) -> None:
    """Overwrite ``world`` with captured state, or raise :class:`StateMismatch` untouched."""
    homes = _array_homes(world)
    missing = sorted(set(homes) - set(arrays))
    extra = sorted(set(arrays) - set(homes))
    if missing or extra:
        raise StateMismatch(f"arrays missing {missing} / unexpected {extra}")
    for name, (owner, attr) in homes.items():
        current = getattr(owner, attr)
        new = arrays[name]
        if new.shape != current.shape or new.dtype != current.dtype:
            raise StateMismatch(
                f"array {name}: snapshot has {new.dtype}{list(new.shape)}, "
                f"this world needs {current.dtype}{list(current.shape)}"
            )
    _check_state(state)
    if len(state["agent_ids"]) != world.n_agents:
        raise StateMismatch(
            f"{len(state['agent_ids'])} agent slots, this world has {world.n_agents}"
        )
    unknown = sorted(set(state["closures"]) - set(world.town.places))
    if unknown:
        raise StateMismatch(f"closed places {unknown} do not exist in this town")

    for name, (owner, attr) in homes.items():
        if owner is world.agents:  # may be views of a vector env's storage: write in place
            getattr(owner, attr)[...] = arrays[name]
        else:
            setattr(owner, attr, np.array(arrays[name]))
    world.tick = int(state["tick"])
    world.weather = str(state["weather"])
    world._serial = int(state["serial"])
    world.agent_ids = list(state["agent_ids"])
    world.agent_names = list(state["agent_names"])
    econ = world.economy
    econ.ledger.clear()
    econ.ledger.update(state["economy"]["ledger"])
    econ.departed = int(state["economy"]["departed"])
    kpi = world.kpi
    kpi.completions = Counter(state["kpi"]["completions"])
    kpi.failures = Counter(state["kpi"]["failures"])
    for name in _KPI_COUNTS:
        setattr(kpi, name, state["kpi"][name])
    world.event_counts = Counter(state["event_counts"])
    soc = world.social
    s = state["social"]
    soc.conflicts = Counter(s["conflicts"])
    soc.intensity, soc.conflicts_today, soc.arguments = (
        s["intensity"],
        s["conflicts_today"],
        s["arguments"],
    )
    soc.chats, soc.good_chats, soc.shared_meals = s["chats"], s["good_chats"], s["shared_meals"]
    soc.pairs_clashed = {(int(a), int(b)) for a, b in s["pairs_clashed"]}
    nar = world.narrator
    n = state["narrator"]
    nar.said, nar.dropped, nar._hour, nar._hour_count = (
        n["said"],
        n["dropped"],
        n["hour"],
        n["hour_count"],
    )
    nar._last_category = dict(n["last_category"])
    nar._recent = deque((int(t), str(text)) for t, text in n["recent"])
    nar.lines = []
    life = world.lifecycle
    lc = state["lifecycle"]
    life.exits_today, life.last_exit = lc["exits_today"], lc["last_exit"]
    life.suppressed_until, life.exits, life.arrivals = (
        lc["suppressed_until"],
        lc["exits"],
        lc["arrivals"],
    )
    life.pending = [(int(t), int(slot)) for t, slot in lc["pending"]]
    life.mortality, life.max_exits_per_day = lc["mortality"], lc["max_exits_per_day"]
    life.exit_cooldown, life.spawn_delay = lc["exit_cooldown"], tuple(lc["spawn_delay"])
    life.collapse_deficit = lc["collapse_deficit"]
    pert = world.perturbations
    pert.active = [Active(**p) for p in state["perturbations"]["active"]]
    pert.started, pert._next_id = (
        state["perturbations"]["started"],
        state["perturbations"]["next_id"],
    )
    world.rng.restore(state["rng"])
    # derived state
    world._closures = {place: door_mask(world, place) for place in state["closures"]}
    closed = world.town.walkable & ~world.walkable
    if not closed.any():
        world.walkable = world.town.walkable  # the map's own array, as a fresh world has
    world.fields.set_closed(closed)
    world.fields.set_outdoor_cost(world.config.world.weather.outdoor_cost.get(world.weather, 1.0))  # type: ignore[call-overload]
    world.events = []
    world._usable.clear()
    world._masks_tick = -1
