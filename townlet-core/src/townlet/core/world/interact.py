"""Starting, progressing, completing and failing affordances."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from townlet.core.world.affordances import ITEMS
from townlet.core.world.queues import WORK, release
from townlet.core.world.social import finish_chat, shared_meals
from townlet.core.world.state import MILLS, NO, tile_keys

if TYPE_CHECKING:
    from townlet.core.world.rows import TownRows
    from townlet.core.world.world import World

__all__ = ["precondition_env", "start_arrivals", "step_affordances"]


def precondition_env(world: World, slot: int, o: int, goal: int) -> dict[str, Any]:
    """Names available to a precondition for agent ``slot`` at object ``o``."""
    a = world.agents
    needs = a.needs[slot]
    inv = a.inventory[slot]
    shop = int(world.economy.shop_of_object[o])
    item = int(world.affordances.buy_item[goal])
    stock = int(world.economy.stock[shop, item]) if shop >= 0 and item >= 0 else 0
    env: dict[str, Any] = {
        "agent.hunger": float(needs[0]),
        "agent.hygiene": float(needs[1]),
        "agent.energy": float(needs[2]),
        "agent.raw_food": int(inv[0]),
        "agent.meal": int(inv[1]),
        "agent.clean_clothes": int(inv[2]),
        "agent.money": int(a.wallet[slot]) / MILLS,
        "agent.employed": bool(a.job[slot] >= 0),
        "agent.on_shift": bool(a.arrived[slot]),
        "agent.is_home": world.town.object_places[o] == world.home_places[a.home[slot]],
        "power_on": bool(world.utility_on[0]),
        "water_on": bool(world.utility_on[1]),
        "hour": world.clock.minute_of_day(world.tick) // 60,
        "day": world.clock.day(world.tick),
        "stock": stock,
        "rainy": world.weather == "rainy",
        "cold": world.weather == "cold",
        "sunny": world.weather == "sunny",
    }
    for i, name in enumerate(ITEMS):
        env[f"price.{name}"] = int(world.economy.price[i]) / MILLS
    return env


def start_arrivals(towns: TownRows) -> None:
    """Holders standing on their object start their affordance (or work)."""
    a = towns.agents
    cand = ((a.target >= 0) & (a.aff == NO) & a.alive & (a.stall_until <= towns.ticks)).nonzero()[0]
    if cand.size == 0:
        return
    tgt = a.target[cand]
    first = towns.worlds[0]
    here = (tile_keys(a.xy)[cand] == first.object_keys[tgt]) & (
        towns.holders(cand, tgt) == towns.slots[cand]
    )
    for world, slots in towns.by_town(cand[here]):
        _start(world, slots.tolist())


def _start(world: World, slots: list[int]) -> None:
    """``slots`` (holders on their object's tile) start their affordance or work."""
    a = world.agents
    objs = world.objects
    meals: list[int] = []
    for slot in slots:
        o = int(a.target[slot])
        goal = int(a.goal[slot])
        a.reached_at[slot] = world.tick
        if goal == WORK:
            a.aff[slot] = WORK
            continue
        ok = bool(world.affordances.preconds[goal](precondition_env(world, slot, o, goal)))
        if not ok:
            world.fail_current(slot, "preconditions")
            release(world, o)
            continue
        a.aff[slot] = goal
        a.aff_left[slot] = int(world.affordances.duration[goal])
        objs.uses[o] += 1
        if world.affordances.social[goal] == "meal":
            meals.append(slot)
        world.hooks.on_affordance_before(
            world=world,
            tick=world.tick,
            agent_id=world.agent_ids[slot],
            affordance=world.affordances.ids[goal],
            object_id=world.town.object_ids[o],
        )
    if meals and world.relationships_on:
        shared_meals(world, meals)


def step_affordances(towns: TownRows) -> None:
    """Apply per-tick need effects, fail on lost utilities, complete finished ones."""
    a = towns.agents
    active = ((a.aff >= 0) & a.alive).nonzero()[0]
    if active.size == 0:
        return
    aset = towns.worlds[0].affordances
    out = [t for t, w in enumerate(towns.worlds) if not (w.utility_on[0] and w.utility_on[1])]
    if out:
        utility = np.stack([w.utility_on for w in towns.worlds])[towns.town_index[active]]
        aff = a.aff[active]
        power, water = utility[:, 0], utility[:, 1]
        lost = (aset.needs_power[aff] & ~power) | (aset.needs_water[aff] & ~water)
        for row, gone in zip(active[lost].tolist(), aff[lost].tolist(), strict=True):
            world, slot = towns.locate(row)
            power_on = world.utility_on[0]
            reason = "power_out" if aset.needs_power[gone] and not power_on else "water_out"
            _fail(world, slot, reason)
        active = active[~lost]
    aff = a.aff[active]
    needs = a.needs[active] + aset.need_per_tick[aff]
    np.minimum(needs, 1.0, out=needs)
    np.maximum(needs, 0.0, out=needs)
    a.needs[active] = needs
    a.aff_left[active] -= 1
    done = a.aff_left[active] <= 0
    if np.count_nonzero(done):
        for row in active[done].tolist():
            _complete(*towns.locate(row))


def _complete(world: World, slot: int) -> None:
    a = world.agents
    aset = world.affordances
    econ = world.economy
    goal = int(a.aff[slot])
    o = int(a.target[slot])
    cost = -int(aset.money[goal])
    item = int(aset.buy_item[goal])
    qty = int(aset.buy_qty[goal])
    shop = int(econ.shop_of_object[o])
    if item >= 0:
        cost += int(econ.price[item]) * qty
        if shop < 0 or econ.stock[shop, item] < qty:
            _fail(world, slot, "out_of_stock")
            return
    new_inv = a.inventory[slot] + aset.items[goal]
    if item >= 0:
        new_inv[item] += qty
    if cost > a.wallet[slot]:
        _fail(world, slot, "no_money")
        return
    if (new_inv < 0).any():
        _fail(world, slot, "missing_item")
        return
    if item >= 0:
        econ.stock[shop, item] -= qty
        econ.transfer(a, slot, -int(econ.price[item]) * qty, f"buy_{ITEMS[item]}")
    if aset.money[goal]:
        econ.transfer(a, slot, int(aset.money[goal]), aset.ids[goal])
    a.inventory[slot] = new_inv
    a.aff[slot] = NO
    a.last_ok[slot] = True
    a.last_duration[slot] = int(aset.duration[goal])
    world.kpi.completions[aset.ids[goal]] += 1
    release(world, o)
    if aset.social[goal] == "chat":
        finish_chat(world, slot)
    world.finish_step(slot)
    world.hooks.on_affordance_after(
        world=world,
        tick=world.tick,
        agent_id=world.agent_ids[slot],
        affordance=aset.ids[goal],
        object_id=world.town.object_ids[o],
    )


def _fail(world: World, slot: int, reason: str) -> None:
    o = int(world.agents.target[slot])
    world.fail_current(slot, reason)
    if o >= 0 and world.objects.holder[o] == slot:
        release(world, o)
