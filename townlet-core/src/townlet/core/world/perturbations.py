"""The perturbation scheduler: price spikes, outages, closures, arranged meets.

Perturbations change events, never rewards. Each kind starts at random
(``probability_per_day``, rolled hourly on the events stream) with a duration
and magnitude drawn from its bounds, at most ``max_concurrent`` at once, and
ends by itself. Arranged meets pick the strongest pair of rivals, skipping
agents targeted within ``fairness_days`` (fairness buckets). Scheduling is
locked out in curriculum stages M0-M2; :meth:`Perturbations.trigger` and
:meth:`Perturbations.cancel` let an operator start or stop one by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from townlet.core.world.affordances import ITEMS
from townlet.core.world.options import Option
from townlet.core.world.settings import PerturbationKind, PerturbationsConfig
from townlet.core.world.townmap import TILE_KINDS

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["KINDS", "Active", "Perturbations"]

KINDS: Final = ("price_spike", "blackout", "water_outage", "facility_closure", "arranged_meet")
_LOCKED_STAGES: Final = frozenset({"M0", "M1", "M2"})


@dataclass
class Active:
    """A perturbation in force."""

    id: int
    kind: str
    start: int
    until: int
    params: dict[str, Any] = field(default_factory=dict)


class Perturbations:
    """Schedules, applies and reverts perturbations."""

    def __init__(self, config: PerturbationsConfig, curriculum: str) -> None:
        self.config = config
        self.locked = curriculum in _LOCKED_STAGES
        self.active: list[Active] = []
        self.started = 0
        self._next_id = 1

    def state_dict(self) -> dict[str, Any]:
        """Perturbations in force and the id counters, JSON-able (who was last picked
        for a meet is in the agent store: ``agents.last_targeted``)."""
        return {
            "active": [
                {"id": p.id, "kind": p.kind, "start": p.start, "until": p.until, "params": p.params}
                for p in self.active
            ],
            "started": self.started,
            "next_id": self._next_id,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (effects already in the restored state)."""
        self.active = [Active(**p) for p in state["active"]]
        self.started, self._next_id = state["started"], state["next_id"]

    def step(self, world: World) -> None:
        """End expired perturbations; maybe start new ones (hourly)."""
        for p in [p for p in self.active if world.tick >= p.until]:
            self.cancel(world, p.id)
        if not self.config.enabled or self.locked or world.tick % world.clock.ticks_per_hour:
            return
        rng = world.rng.events
        for kind in KINDS:
            spec: PerturbationKind = getattr(self.config, kind)
            if len(self.active) >= self.config.max_concurrent:
                return
            if spec.probability_per_day > 0 and rng.random() < spec.probability_per_day / 24:
                self.trigger(world, kind)

    def trigger(self, world: World, kind: str, **params: Any) -> int | None:
        """Start ``kind`` now; missing params are drawn from its bounds. Returns its id.

        Returns None when nothing could be started (e.g. no rival pair to meet).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown perturbation {kind!r}; kinds: {', '.join(KINDS)}")
        spec: PerturbationKind = getattr(self.config, kind)
        rng = world.rng.events
        duration = int(params.pop("duration", rng.integers(spec.min_ticks, spec.max_ticks + 1)))
        if kind == "price_spike":
            item = params.setdefault("item", ITEMS[int(rng.integers(2))])
            factor = float(
                params.setdefault("factor", rng.uniform(spec.min_magnitude, spec.max_magnitude))
            )
            old, new = world.economy.set_multiplier(ITEMS.index(item), factor)
            world.hooks.on_price_change(
                world=world, tick=world.tick, item=item, old=old / 1000, new=new / 1000
            )
            world.narrate("price_spike", (), item=item.replace("_", " "), price=new / 1000)
        elif kind in ("blackout", "water_outage"):
            utility = "power" if kind == "blackout" else "water"
            world.set_utility(utility, False, until=world.tick + duration)
            world.utility_forced[("power", "water").index(utility)] = True
            world.narrate(kind, ())
        elif kind == "facility_closure":
            places = [
                p for p, (k, _) in world.town.places.items() if k in ("cafe", "grocer", "gym")
            ]
            place = params.setdefault("place", places[int(rng.integers(len(places)))])
            world.set_closure(place, True)
            world.narrate("closure", (), where=place)
        else:
            pair = params.get("agents") or self._rival_pair(world)
            if pair is None:
                return None
            for slot in pair:
                world.force_option(int(slot), Option.SOCIALISE)
                world.agents.last_targeted[slot] = world.tick
            params["agents"] = [int(s) for s in pair]
            world.narrate("arranged_meet", tuple(int(s) for s in pair))
        p = Active(self._next_id, kind, world.tick, world.tick + duration, params)
        self._next_id += 1
        self.active.append(p)
        self.started += 1
        world.record(
            "perturbation",
            None,
            perturbation=kind,
            id=p.id,
            until=p.until,
            **{k: v for k, v in params.items() if k != "agents"},
        )
        return p.id

    def cancel(self, world: World, pid: int) -> bool:
        """End perturbation ``pid`` now, undoing its effect. False if unknown."""
        match = [p for p in self.active if p.id == pid]
        if not match:
            return False
        p = match[0]
        self.active.remove(p)
        if p.kind == "price_spike":
            old, new = world.economy.set_multiplier(ITEMS.index(p.params["item"]), 1.0)
            world.hooks.on_price_change(
                world=world, tick=world.tick, item=p.params["item"], old=old / 1000, new=new / 1000
            )
        elif p.kind in ("blackout", "water_outage"):
            u = 0 if p.kind == "blackout" else 1
            world.utility_forced[u] = False
            world.set_utility(("power", "water")[u], True)
        elif p.kind == "facility_closure":
            world.set_closure(p.params["place"], False)
        else:
            for slot in p.params["agents"]:
                world.force_option(int(slot), None)
        world.record("perturbation_end", None, perturbation=p.kind, id=p.id)
        return True

    def _rival_pair(self, world: World) -> tuple[int, int] | None:
        rel = world.relations
        a = world.agents
        fair = world.tick - a.last_targeted >= self.config.fairness_days * world.clock.ticks_per_day
        ok = a.alive & fair
        best, pair = 0.0, None
        for slot in np.flatnonzero(ok):
            for k in np.flatnonzero(rel.other[slot] >= 0):
                other = int(rel.other[slot, k])
                if ok[other] and rel.rivalry[slot, k] > best:
                    best, pair = float(rel.rivalry[slot, k]), (int(slot), other)
        return pair


def door_mask(world: World, place: str) -> np.ndarray:
    """Door tiles on the edge of ``place``."""
    x0, y0, x1, y1 = world.town.places[place][1]
    mask = np.zeros(world.town.shape, dtype=bool)
    mask[y0 : y1 + 1, x0 : x1 + 1] = world.town.tiles[y0 : y1 + 1, x0 : x1 + 1] == TILE_KINDS.index(
        "door"
    )
    return mask
