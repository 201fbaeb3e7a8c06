"""Conflicts, shared meals, polite queueing and chats: what feeds the ledger.

Conflicts are first-class events whatever the relationship stage: each has a
type (``blocked``, ``cut_in``, ``rival_collision``, ``shift_taken``,
``ghost_step``), a sufferer, a causer and an intensity that grows with the
queue it happened in. They fire ``on_conflict`` and are counted per day.
Ledger updates happen only from relationship stage A on; behaviour (rival
avoidance, socialising) from stage C.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from townlet.core.world.state import NO

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["CONFLICT_KINDS", "SocialStats", "conflict", "finish_chat", "relate", "shared_meals"]

CONFLICT_KINDS: Final = {
    "blocked": 0.5,
    "cut_in": 1.0,
    "ghost_step": 0.8,
    "rival_collision": 1.2,
    "shift_taken": 1.5,
}
"""Conflict type → base intensity."""
_LEDGER_EVENT: Final = {
    "blocked": "blocked",
    "cut_in": "blocked",
    "ghost_step": "blocked",
    "rival_collision": "blocked",
    "shift_taken": "shift_taken",
}


@dataclass
class SocialStats:
    """Counters for KPIs (run totals and the current day)."""

    conflicts: Counter[str] = field(default_factory=Counter)
    intensity: float = 0.0
    conflicts_today: int = 0
    arguments: int = 0
    chats: int = 0
    good_chats: int = 0
    shared_meals: int = 0
    pairs_clashed: set[tuple[int, int]] = field(default_factory=set)

    def state_dict(self) -> dict[str, Any]:
        """Every counter, JSON-able."""
        return {
            "conflicts": dict(self.conflicts),
            "intensity": self.intensity,
            "conflicts_today": self.conflicts_today,
            "arguments": self.arguments,
            "chats": self.chats,
            "good_chats": self.good_chats,
            "shared_meals": self.shared_meals,
            "pairs_clashed": sorted([list(p) for p in self.pairs_clashed]),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.conflicts = Counter(state["conflicts"])
        self.intensity, self.conflicts_today = state["intensity"], state["conflicts_today"]
        self.arguments, self.chats = state["arguments"], state["chats"]
        self.good_chats, self.shared_meals = state["good_chats"], state["shared_meals"]
        self.pairs_clashed = {(int(a), int(b)) for a, b in state["pairs_clashed"]}


def relate(world: World, event: str, a: int, b: int, quality: float = 1.0) -> None:
    """Apply a ledger event between two slots, if relationships are on."""
    if world.relationships_on and a != b:
        world.relations.apply(event, a, b, world.agents.personality, quality)


def conflict(world: World, kind: str, sufferer: int, causer: int, obj: int = NO) -> None:
    """Record a conflict, update the ledger, narrate firsts and public arguments."""
    if sufferer == causer or causer < 0:
        return
    a = world.agents
    queue_len = int(np.count_nonzero(a.alive & (a.queue_obj == obj))) if obj >= 0 else 0
    intensity = CONFLICT_KINDS[kind] * (1.0 + 0.25 * queue_len)
    stats = world.social
    stats.conflicts[kind] += 1
    stats.conflicts_today += 1
    stats.intensity += intensity
    where = world.town.object_types[obj] if obj >= 0 else "street"
    world.record(
        "conflict",
        sufferer,
        type=kind,
        other=world.agent_ids[causer],
        intensity=round(intensity, 3),
        object=world.town.object_ids[obj] if obj >= 0 else None,
    )
    world.hooks.on_conflict(
        world=world,
        tick=world.tick,
        kind=kind,
        agent_id=world.agent_ids[sufferer],
        other_id=world.agent_ids[causer],
        intensity=intensity,
    )
    relate(world, _LEDGER_EVENT[kind], sufferer, causer)
    pair = (min(sufferer, causer), max(sufferer, causer))
    if pair not in stats.pairs_clashed:
        stats.pairs_clashed.add(pair)
        world.narrate("first_clash", (sufferer, causer), where=where)
    if world.agents.shift_state[sufferer] == 1 and kind in ("blocked", "cut_in"):  # PENDING: late
        world.narrate("late_and_blocked", (sufferer, causer), where=where)
    cfg = world.settings.social
    rivalry = max(
        world.relations.tie(sufferer, causer)[2], world.relations.tie(causer, sufferer)[2]
    )
    if kind == "rival_collision" and rivalry > cfg.argue_rivalry and world.relationships_on:
        stats.arguments += 1
        until = world.tick + cfg.argue_ticks
        a.stall_until[[sufferer, causer]] = np.maximum(a.stall_until[[sufferer, causer]], until)
        world.record("argument", sufferer, other=world.agent_ids[causer])
        world.narrate("argument", (sufferer, causer), where=where)


def shared_meals(world: World, started: list[int]) -> None:
    """Agents who just sat down to eat share a meal with others eating in the same place."""
    a = world.agents
    meal_ids = [i for i, s in enumerate(world.affordances.social) if s == "meal"]
    if not started or not meal_ids:
        return
    eating = np.flatnonzero(a.alive & np.isin(a.aff, meal_ids))
    places = world.town.object_places
    for slot in started:
        here = places[int(a.target[slot])]
        for other in eating:
            if other != slot and places[int(a.target[other])] == here:
                world.social.shared_meals += 1
                relate(world, "shared_meal", slot, int(other))
                world.record("shared_meal", slot, other=world.agent_ids[other])
                if world.relations.tie(slot, int(other))[1] >= 0.3:
                    world.narrate("bonded", (slot, int(other)), where=here)


def finish_chat(world: World, slot: int) -> None:
    """``slot`` finished a chat affordance: talk to the nearest agent close by."""
    a = world.agents
    radius = world.settings.social.chat_radius
    others = np.flatnonzero(a.alive)
    others = others[others != slot]
    if others.size == 0:
        return
    dist = np.abs(a.xy[others].astype(np.int32) - a.xy[slot]).sum(axis=1)
    near = others[dist <= radius]
    if near.size == 0:
        world.record("chat_alone", slot)
        return
    partner = int(near[np.argmin(dist[dist <= radius])])
    trust, fam, _ = world.relations.tie(slot, partner)
    topic = float(
        np.clip(1.0 + 0.1 * (a.personality[slot, 0] + a.personality[partner, 0]), 0.8, 1.2)
    )
    chance = min(1.0, max(0.0, 0.7 * (1 + 0.3 * trust) * (1 + 0.2 * fam) * topic))
    rng = world.rng.world
    world.social.chats += 1
    if rng.random() < chance:
        quality = float(rng.uniform(0.5, 1.0))
        world.social.good_chats += 1
        relate(world, "good_chat", slot, partner, quality)
        world.record(
            "chat", slot, other=world.agent_ids[partner], success=True, quality=round(quality, 3)
        )
    else:
        relate(world, "failed_chat", slot, partner)
        world.record("chat", slot, other=world.agent_ids[partner], success=False)
