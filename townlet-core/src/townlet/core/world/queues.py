"""Queues and reservations at interactive objects.

An agent heading for an object joins its queue when within ``queue_length + 1``
steps. Whenever an object is free, the queued agent with the highest priority
reserves it: priority is waiting age × weight + patience + a per-agent jitter
drawn at join time (which breaks same-tick ties), minus a large penalty while
the agent is under a fairness cooldown (it just used a contested object, or
cut in or blocked). The holder walks in; the others wait on the approach, the
k-th in line no closer than k + 1 steps (the queue nodes).

A reservation ends on success, failure, when its holder changes its mind, or
at ``reserved_until`` (duration + travel + slack), whichever comes first, so
no reservation outlives its timeout and no object is held by an agent that is
not on its way to it or using it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from townlet.core.world.social import conflict, relate
from townlet.core.world.state import NO

if TYPE_CHECKING:
    from townlet.core.world.rows import TownRows
    from townlet.core.world.world import World

__all__ = ["WORK", "grant_reservations", "join_queues", "leave_queue", "queue_ranks", "release"]

WORK = -2
"""Pseudo-affordance: standing at one's desk on shift."""
_COOLDOWN_PENALTY = 1.0e6


def join_queues(towns: TownRows) -> None:
    """Agents close to their target join its queue."""
    a = towns.agents
    cand = ((a.target >= 0) & (a.queue_obj == NO) & (a.aff == NO) & a.alive).nonzero()[0]
    if cand.size == 0:
        return
    dist = towns.along_paths("dist", cand, a.target[cand])
    near = cand[dist <= towns.config.world.queues.queue_length + 1]
    if near.size == 0:
        return
    a.queue_obj[near] = a.target[near]
    a.queue_since[near] = towns.ticks[near]
    for world, slots in towns.by_town(near):  # each town draws from its own stream
        world.agents.jitter[slots] = world.rng.world.random(slots.size).astype(np.float32)
        if world.relationships_on:
            _rival_collisions(world, slots)


def _rival_collisions(world: World, joined: npt.NDArray[np.int64]) -> None:
    """A newcomer to a queue that a rival already stands in collides with them."""
    a = world.agents
    threshold = world.settings.social.avoid_rivalry
    for slot in joined:
        o = int(a.queue_obj[slot])
        for rival in world.relations.rivals_of(int(slot), threshold):
            if a.alive[rival] and a.queue_obj[rival] == o:
                conflict(world, "rival_collision", int(slot), int(rival), o)


def leave_queue(world: World, slot: int) -> None:
    """Take ``slot`` out of its queue and give up any reservation it holds."""
    a = world.agents
    o = int(a.queue_obj[slot])
    if o >= 0 and world.objects.holder[o] == slot:
        release(world, o)
    a.queue_obj[slot] = NO


def release(world: World, o: int) -> None:
    """Free object ``o``; its holder leaves the queue."""
    holder = int(world.objects.holder[o])
    world.objects.holder[o] = NO
    if holder >= 0 and world.agents.queue_obj[holder] == o:
        world.agents.queue_obj[holder] = NO


def _priority(world: World, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    a = world.agents
    cfg = world.settings.queues
    age = (world.tick - a.queue_since[slots]).astype(np.float64)
    penalty = np.where(a.cooldown_until[slots] > world.tick, _COOLDOWN_PENALTY, 0.0)
    prio: npt.NDArray[np.float64] = (
        age * cfg.waiting_age_weight + a.patience[slots] + a.jitter[slots] - penalty
    )
    return prio


def grant_reservations(towns: TownRows) -> None:
    """Give every free object with a queue to its highest-priority waiter."""
    a = towns.agents
    queued = ((a.queue_obj >= 0) & a.alive).nonzero()[0]
    if queued.size == 0:
        return
    free = towns.holders(queued, a.queue_obj[queued]) == NO
    for world, slots in towns.by_town(queued[free]):
        _grant(world, slots)


def _grant(world: World, waiting: npt.NDArray[np.int64]) -> None:
    """Queued ``waiting`` slots of one town whose object is free: the best of each gets it."""
    a = world.agents
    objs = world.objects
    prio = _priority(world, waiting)
    order = np.lexsort((-prio, a.queue_obj[waiting]))  # by object, best first
    waiting = waiting[order]
    w_obj = a.queue_obj[waiting]
    first = np.ones(waiting.size, dtype=bool)
    first[1:] = w_obj[1:] != w_obj[:-1]
    for slot in waiting[first].tolist():
        o = int(a.queue_obj[slot])
        travel = float(world.fields.dist[o, a.xy[slot, 1], a.xy[slot, 0]])
        if not np.isfinite(travel):  # tiles closed since it joined: it cannot get there
            world.fail_current(slot, "unreachable")
            continue
        _fairness(world, slot, o)
        goal = int(a.goal[slot])
        duration = world.goal_duration(slot, goal)
        objs.holder[o] = slot
        objs.reserved_at[o] = world.tick
        objs.reserved_until[o] = (
            world.tick + int(np.ceil(travel)) + duration + (world.settings.queues.reservation_slack)
        )
        world.kpi.queue_wait_ticks += world.tick - int(a.queue_since[slot])
        world.kpi.reservations += 1


def _fairness(world: World, slot: int, o: int) -> None:
    """Someone who waited longer was passed over: a cut-in; the others queued politely."""
    a = world.agents
    others = np.flatnonzero(a.alive & (a.queue_obj == o))
    others = others[others != slot]
    if others.size == 0:
        return
    passed = others[a.queue_since[others] < a.queue_since[slot]]
    if passed.size:
        a.cooldown_until[slot] = world.tick + world.settings.queues.fairness_cooldown
        for victim in passed:
            conflict(world, "cut_in", int(victim), slot, o)
    else:
        for other in others:
            relate(world, "queued_politely", slot, int(other))


def queue_ranks(world: World, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Place in line (0 = next) of queued non-holders ``slots``."""
    a = world.agents
    ranks = np.zeros(slots.size, dtype=np.int64)
    if slots.size == 0:
        return ranks
    queued = np.flatnonzero(a.alive & (a.queue_obj >= 0))
    queued = queued[world.objects.holder[a.queue_obj[queued]] != queued]
    prio = _priority(world, queued)
    for k, slot in enumerate(slots):
        same = a.queue_obj[queued] == a.queue_obj[slot]
        ranks[k] = int(np.count_nonzero(prio[same] > prio[queued == slot][0])) if same.any() else 0
    return ranks


def expire_reservations(towns: TownRows) -> None:
    """Release reservations past their timeout, failing the holder's affordance."""
    worlds = towns.worlds
    until = towns.objects("reserved_until")
    holder = towns.objects("holder")
    n_obj = worlds[0].objects.holder.size
    ticks = (
        np.repeat(np.array([w.tick for w in worlds]), n_obj) if len(worlds) > 1 else worlds[0].tick
    )
    late = ((until < ticks) & (holder >= 0)).nonzero()[0]
    for k in late.tolist():
        world, o = worlds[k // n_obj], k % n_obj
        slot = int(world.objects.holder[o])
        if slot >= 0:  # not released meanwhile by an earlier failure
            world.fail_current(slot, "timeout")
            release(world, o)
