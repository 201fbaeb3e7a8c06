"""Options (meta-actions), action masks and option controllers.

A policy picks one option per agent; the world runs it through a short
scripted controller that chooses the object to use (cheapest by path cost
plus expected wait), queues for it and performs the affordance. An option,
once chosen, stays committed for ``commit_window`` ticks unless it completes
or fails; a masked (impossible) option is ignored and counted as invalid.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.world.affordances import ITEMS
from townlet.core.world.queues import WORK
from townlet.core.world.rows import TownRows
from townlet.core.world.state import NO, ShiftState

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = [
    "OPTIONS",
    "Option",
    "OptionStatus",
    "action_masks",
    "apply_options",
    "plan",
    "plan_steps",
]


class Option(IntEnum):
    """The option set (SPEC §4)."""

    WAIT = 0
    GET_FED = 1
    GET_CLEAN = 2
    GO_TO_WORK = 3
    SHOP_GROCERIES = 4
    SLEEP = 5
    SOCIALISE = 6


OPTIONS: Final = tuple(o.name.lower() for o in Option)


class OptionStatus:
    """Values of ``AgentArrays.option_status``."""

    ACTIVE: Final = 0
    DONE: Final = 1
    FAILED: Final = 2


_MEAL: Final = ITEMS.index("meal")
_RAW: Final = ITEMS.index("raw_food")
_EARLY_MINUTES: Final = 180
"""GoToWork is possible from this long before the shift starts."""


def action_masks(towns: TownRows) -> npt.NDArray[np.bool_]:
    """``[rows, len(OPTIONS)]`` True where an option is possible for the agent.

    One pass over the rows of every town; what differs between towns (time
    of day, prices and stock, utilities) is spread to rows.
    """
    worlds = towns.worlds
    first = worlds[0]
    a = towns.agents
    money = a.wallet
    inv = a.inventory
    single = len(worlds) == 1

    def per_row(values: Any) -> Any:
        """One value per town, spread to rows (a scalar for one town)."""
        return values[0] if single else values[towns.town_index]

    if single:
        stock, price = first.economy.stock[None], first.economy.price[None]
    else:
        stock = np.stack([w.economy.stock for w in worlds])  # [T, shops, items]
        price = np.stack([w.economy.price for w in worlds])
    meal_sold = per_row((stock[:, :, _MEAL] > 0).any(axis=1))
    raw_sold = per_row((stock[:, :, _RAW] >= 2).any(axis=1))
    meal_price = per_row(price[:, _MEAL])
    raw_price = per_row(price[:, _RAW])
    water = per_row(np.array([w.utility_on[1] for w in worlds]))
    tod = per_row(np.array([w.clock.tick_of_day(w.tick) for w in worlds]))
    job = np.maximum(a.job, 0)
    masks = np.empty((towns.n_agents, len(OPTIONS)), dtype=bool)
    masks[:, Option.WAIT] = True
    masks[:, Option.GET_FED] = (
        (inv[:, 1] > 0) | (inv[:, 0] > 0) | (meal_sold & (money >= meal_price))
    )
    masks[:, Option.GET_CLEAN] = (water & (money >= first.shower_fee)) | (inv[:, 2] > 0)
    masks[:, Option.GO_TO_WORK] = (
        (a.job >= 0)
        & (tod >= first.job_start[job] - first.clock.ticks_from_minutes(_EARLY_MINUTES))
        & (tod < first.job_end[job])
        & (a.shift_state != ShiftState.ABSENT)
    )
    masks[:, Option.SHOP_GROCERIES] = raw_sold & (money >= 2 * raw_price)
    masks[:, Option.SLEEP] = a.bed >= 0
    masks[:, Option.SOCIALISE] = first.social_behaviour  # relationship stage C
    masks &= a.alive[:, None]
    return masks


def apply_options(towns: TownRows, options: npt.NDArray[np.integer[Any]]) -> None:
    """Switch rows whose chosen option differs from their current one (or whose
    option ended) to it: masked options count as invalid, and an active option
    stays committed for ``commit_window`` ticks."""
    a = towns.agents
    status = a.option_status
    change = (a.alive & ((options != a.option) | (status != OptionStatus.ACTIVE))).nonzero()[0]
    window = towns.config.world.commit_window
    for row in change.tolist():
        world, slot = towns.locate(row)
        new = int(options[row])
        if not 0 <= new < len(OPTIONS) or not world.action_masks()[slot, new]:
            world.kpi.invalid_options += 1
            continue
        active = world.agents.option_status[slot] == OptionStatus.ACTIVE
        if active and world.tick - int(a.option_since[row]) < window:
            continue
        world.switch_option(slot, new)


def plan_steps(towns: TownRows) -> None:
    """Rows with an active option and nothing to head for pick their next step."""
    a = towns.agents
    need = (
        a.alive
        & (a.option_status == OptionStatus.ACTIVE)
        & (a.target == NO)
        & (a.aff == NO)
        & (a.option != Option.WAIT)
    ).nonzero()[0]
    for row in need.tolist():
        plan(*towns.locate(row))


def plan(world: World, slot: int) -> None:
    """Pick the next (object, affordance) step of ``slot``'s option, or end the option."""
    a = world.agents
    option = int(a.option[slot])
    if option == Option.WAIT:
        return
    if option == Option.GET_FED:
        if a.inventory[slot, 1] > 0:
            _go(world, slot, "eat")
        elif a.inventory[slot, 0] > 0 and world.utility_on[0]:
            _go(world, slot, "cook")
        elif a.inventory[slot, 0] > 0:
            _go(world, slot, "snack")
        else:
            _go(world, slot, "buy_meal")
    elif option == Option.GET_CLEAN:
        if world.utility_on[1] and a.wallet[slot] >= world.shower_fee:
            _go(world, slot, "shower")
        else:
            _go(world, slot, "change_clothes")
    elif option == Option.GO_TO_WORK:
        if a.job[slot] < 0:
            world.end_option(slot, OptionStatus.FAILED)
            return
        a.target[slot] = a.desk[slot]
        a.goal[slot] = WORK
    elif option == Option.SHOP_GROCERIES:
        _go(world, slot, "buy_groceries")
    elif option == Option.SLEEP:
        _go(world, slot, "sleep")
    elif option == Option.SOCIALISE:
        _go(world, slot, "chat")
    else:
        world.end_option(slot, OptionStatus.FAILED)


def _go(world: World, slot: int, affordance: str) -> None:
    """Head for the cheapest object offering ``affordance`` that ``slot`` may use."""
    try:
        goal = world.affordances.index(affordance)
    except ValueError:
        world.end_option(slot, OptionStatus.FAILED)
        return
    candidates = world.usable_objects(slot, goal)
    if candidates.size == 0:
        world.end_option(slot, OptionStatus.FAILED)
        return
    a = world.agents
    objs = world.objects
    dist = world.fields.dist[candidates, a.xy[slot, 1], a.xy[slot, 0]].astype(np.float64)
    busy = objs.holder[candidates] >= 0
    queued = np.bincount(a.queue_obj[a.queue_obj >= 0], minlength=objs.holder.size)[candidates]
    duration = float(world.affordances.duration[goal])
    cost = dist + busy * duration / 2 + queued * duration
    if world.social_behaviour:
        rivals = world.relations.rivals_of(slot, world.settings.social.avoid_rivalry)
        if rivals.size:  # stage C: steer clear of queues a rival stands in
            rival_there = np.isin(objs.holder[candidates], rivals) | np.isin(
                candidates, a.queue_obj[rivals]
            )
            cost = cost + rival_there * (duration + 50.0)
    best = int(np.argmin(cost))
    if not np.isfinite(cost[best]):
        world.end_option(slot, OptionStatus.FAILED)
        return
    a.target[slot] = candidates[best]
    a.goal[slot] = goal
