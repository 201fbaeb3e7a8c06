"""What the world reports: telemetry snapshots and KPIs (read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from townlet.core.world import options as opts
from townlet.core.world.affordances import ITEMS, NEEDS
from townlet.core.world.queues import WORK
from townlet.core.world.state import MILLS, ShiftState
from townlet.core.world.weather import UTILITIES

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["kpi_values", "observe"]


def observe(world: World) -> dict[str, Any]:
    """The world as a JSON-able telemetry snapshot (see docs/telemetry.md)."""
    a = world.agents
    town = world.town
    aff_ids = world.affordances.ids
    agents: dict[str, Any] = {}
    for slot in np.flatnonzero(a.alive):
        aff = int(a.aff[slot])
        agents[world.agent_ids[slot]] = {
            "name": world.agent_names[slot],
            "x": int(a.xy[slot, 0]),
            "y": int(a.xy[slot, 1]),
            "option": opts.OPTIONS[int(a.option[slot])],
            "affordance": "work" if aff == WORK else (aff_ids[aff] if aff >= 0 else None),
            "needs": {n: round(float(a.needs[slot, i]), 4) for i, n in enumerate(NEEDS)},
            "wallet": int(a.wallet[slot]) / MILLS,
            "inventory": {n: int(a.inventory[slot, i]) for i, n in enumerate(ITEMS)},
            "job": {
                "workplace": world.settings.jobs.jobs[a.job[slot]].place
                if a.job[slot] >= 0
                else None,
                "state": ShiftState.NAMES[int(a.shift_state[slot])],
                "attendance": round(
                    int(a.present_ticks[slot]) / max(1, int(a.scheduled_ticks[slot])), 4
                ),
            },
            "last_event": None,
        }
    for event in world.events:
        if event.get("agent") in agents:
            agents[event["agent"]]["last_event"] = event["kind"]
    queues: dict[int, list[str]] = {}
    for slot in np.flatnonzero(a.alive & (a.queue_obj >= 0)):
        queues.setdefault(int(a.queue_obj[slot]), []).append(world.agent_ids[slot])
    objects = {}
    for o, oid in enumerate(town.object_ids):
        holder = int(world.objects.holder[o])
        objects[oid] = {
            "type": town.object_types[o],
            "x": int(town.object_xy[o, 0]),
            "y": int(town.object_xy[o, 1]),
            "place": town.object_places[o],
            "occupant": world.agent_ids[holder] if holder >= 0 else None,
            "queue": [
                q
                for q in queues.get(o, [])
                if q != (world.agent_ids[holder] if holder >= 0 else None)
            ],
            "available": bool(world.walkable[town.object_xy[o, 1], town.object_xy[o, 0]]),
        }
    econ = world.economy
    return {
        "tick": world.tick,
        "config_id": world.config_id,
        "ticks_per_day": world.clock.ticks_per_day,
        "day": world.clock.day(world.tick),
        "minute_of_day": world.clock.minute_of_day(world.tick),
        "agents": agents,
        "objects": objects,
        "economy": {
            "prices": {item: int(econ.price[i]) / MILLS for i, item in enumerate(ITEMS)},
            "stock": {
                town.object_ids[o]: {item: int(econ.stock[s, i]) for i, item in enumerate(ITEMS)}
                for o in town.objects_of_type("till")
                if (s := int(econ.shop_of_object[o])) >= 0
            },
        },
        "weather": world.weather,
        "utilities": {u: bool(world.utility_on[i]) for i, u in enumerate(UTILITIES)},
        "relationships": _top_ties(world),
        "events": [dict(e) for e in world.events],
        "narration": [dict(line) for line in world.narrator.lines],
        "kpis": kpi_values(world),
    }


def _top_ties(world: World) -> dict[str, list[dict[str, Any]]]:
    rel = world.relations
    out: dict[str, list[dict[str, Any]]] = {}
    if not world.relationships_on:
        return out
    for slot in np.flatnonzero(world.agents.alive & (rel.other >= 0).any(axis=1)):
        ks = np.flatnonzero(rel.other[slot] >= 0)
        out[world.agent_ids[slot]] = [
            {
                "other": world.agent_ids[int(rel.other[slot, k])],
                "trust": round(float(rel.trust[slot, k]), 4),
                "familiarity": round(float(rel.familiarity[slot, k]), 4),
                "rivalry": round(float(rel.rivalry[slot, k]), 4),
            }
            for k in ks
        ]
    return out


def kpi_values(world: World) -> dict[str, float]:
    """Current KPIs as a flat name → number mapping."""
    a = world.agents
    k = world.kpi
    sched = int(a.scheduled_ticks.sum())
    shifts = int(a.shift_days.sum())
    return {
        "self_sufficiency": round(k.self_sufficiency, 4),
        "attendance": round(int(a.present_ticks.sum()) / sched, 4) if sched else 1.0,
        "lateness": round(int(a.late_days.sum()) / shifts, 4) if shifts else 0.0,
        "absences": float(a.absent_days.sum()),
        "meals": float(k.completions["eat"] + k.completions["snack"]),
        "showers": float(k.completions["shower"]),
        "ghost_steps": float(k.ghost_steps),
        "mean_queue_wait": round(k.mean_queue_wait, 2),
        "population": float(a.alive.sum()),
        **_social_kpis(world),
    }


def _social_kpis(world: World) -> dict[str, float]:
    a = world.agents
    rel = world.relations
    soc = world.social
    alive = a.alive
    strong = (rel.other >= 0) & (
        (np.abs(rel.trust) > 0.3) | (np.abs(rel.familiarity) > 0.3) | (np.abs(rel.rivalry) > 0.3)
    )
    conflicts = sum(soc.conflicts.values())
    days = max(world.tick, 1) / world.clock.ticks_per_day
    return {
        "relationship_formation": round(float(strong[alive].any(axis=1).mean()), 4)
        if alive.any()
        else 0.0,
        "conflicts": float(conflicts),
        "conflict_intensity": round(soc.intensity, 3),
        "escalation_rate": round(soc.arguments / conflicts, 4) if conflicts else 0.0,
        "chats": float(soc.chats),
        "shared_meals": float(soc.shared_meals),
        "option_switch_rate": round(world.kpi.option_switches / max(1, int(alive.sum())) / days, 3),
        "tenure_days": round(
            float(np.mean(world.tick - a.spawned_at[alive])) / world.clock.ticks_per_day, 3
        )
        if alive.any()
        else 0.0,
        "exits": float(world.lifecycle.exits),
        "arrivals": float(world.lifecycle.arrivals),
        "perturbations": float(world.perturbations.started),
        "narrations": float(world.narrator.said),
    }
