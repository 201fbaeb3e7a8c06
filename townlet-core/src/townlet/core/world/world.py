"""The World: one town's state arrays and the operations its systems call.

The systems that advance a town, and their order within a tick, are in
:mod:`townlet.core.world.tick`; :meth:`World.step` runs them for this town.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pluggy

from townlet.core.config.models import FeaturesConfig, TownletConfig
from townlet.core.console.timeline import Timeline
from townlet.core.errors import ConfigError
from townlet.core.hooks import make_plugin_manager
from townlet.core.rng import RngStreams
from townlet.core.world import options as opts
from townlet.core.world import persist, report
from townlet.core.world.affordances import ITEMS, AffordanceSet, load_affordances
from townlet.core.world.clock import Clock
from townlet.core.world.economy import Economy
from townlet.core.world.kpis import Kpis
from townlet.core.world.lifecycle import Lifecycle
from townlet.core.world.narration import Narrator
from townlet.core.world.options import Option, OptionStatus
from townlet.core.world.pathing import PathFields
from townlet.core.world.persist import Stateful
from townlet.core.world.perturbations import Perturbations, door_mask
from townlet.core.world.queues import WORK, leave_queue, release
from townlet.core.world.relationships import Relationships
from townlet.core.world.rows import TownRows
from townlet.core.world.settings import WorldConfig
from townlet.core.world.social import SocialStats
from townlet.core.world.state import MILLS, NO, AgentArrays, ObjectArrays, ShiftState, tile_keys
from townlet.core.world.tick import step_worlds
from townlet.core.world.townmap import TownMap, load_town
from townlet.core.world.weather import UTILITIES, WEATHERS

__all__ = ["World"]

_NAMES: Final = (
    "Ada",
    "Bo",
    "Cleo",
    "Dev",
    "Edda",
    "Finn",
    "Gus",
    "Hana",
    "Ivo",
    "Juno",
    "Kai",
    "Lea",
    "Milo",
    "Nia",
    "Oren",
    "Pia",
    "Quin",
    "Rae",
    "Sol",
    "Tove",
    "Uma",
    "Vik",
    "Wren",
    "Xan",
    "Yara",
    "Zed",
)
_TERMINAL: Final = {
    Option.GET_FED: frozenset({"eat", "snack"}),
    Option.GET_CLEAN: frozenset({"shower", "change_clothes"}),
    Option.SHOP_GROCERIES: frozenset({"buy_groceries"}),
    Option.SLEEP: frozenset({"sleep"}),
    Option.SOCIALISE: frozenset({"chat"}),
}
"""Affordances whose completion completes an option (others lead to a next step)."""


def _halton(index: int, base: int) -> float:
    f, r = 1.0, 0.0
    while index > 0:
        f /= base
        r += f * (index % base)
        index //= base
    return r


class World:
    """One town. Build it with :meth:`from_config`; advance it with :meth:`step`.

    It takes the run config's ``world`` section (``settings``), its ``features``
    and ``seed``; ``config_id`` names the run in reports and snapshots.
    """

    def __init__(
        self,
        settings: WorldConfig,
        features: FeaturesConfig,
        seed: int,
        town: TownMap,
        affordances: AffordanceSet,
        hooks: pluggy.HookRelay | None = None,
        agents: AgentArrays | None = None,
        *,
        config_id: str = "",
    ) -> None:
        wcfg = settings
        self.settings = settings
        """The run config's ``world`` section."""
        self.features = features
        self.seed = seed
        self.config_id = config_id
        self.town = town
        self.affordances = affordances
        self.hooks = (
            hooks if hooks is not None else make_plugin_manager(load_entry_points=False)[0].hook
        )
        self.clock = Clock(wcfg.ticks_per_day)
        self.rng = RngStreams.from_seed(seed)
        self.tick = 0
        self.weather = "sunny"
        self.utility_on = np.ones(len(UTILITIES), dtype=bool)
        self.utility_back_at = np.zeros(len(UTILITIES), dtype=np.int64)
        self.utility_forced = np.zeros(len(UTILITIES), dtype=bool)
        self.fields = PathFields(town, wcfg.weather.outdoor_cost.get("sunny", 1.0))
        self.walkable = town.walkable
        """Tiles open to walk on: the map's own array until tiles are closed."""
        self.object_at = np.full(town.shape, NO, dtype=np.int32)
        self.object_at[town.object_xy[:, 1], town.object_xy[:, 0]] = np.arange(len(town.object_ids))
        self.object_keys = tile_keys(town.object_xy)
        """Tile key of each object (see :func:`~townlet.core.world.state.tile_keys`)."""
        self.economy = Economy(wcfg.economy, town)
        self.home_places = town.place_of_kind("home")
        if not self.home_places:
            raise ConfigError(f"{town.path}: the town has no place of kind 'home'")
        self._init_jobs()
        self.need_decay = np.array(
            [wcfg.needs.hunger_decay, wcfg.needs.hygiene_decay, wcfg.needs.energy_decay],
            dtype=np.float32,
        )
        self.shower_fee = (
            -int(affordances.money[affordances.index("shower")])
            if "shower" in affordances.ids
            else 0
        )
        if agents is None:
            agents = AgentArrays.allocate(wcfg.agents)
        elif agents.alive.size != wcfg.agents:
            raise ValueError(f"{agents.alive.size} agent rows given, world.agents is {wcfg.agents}")
        else:
            agents.clear()
        self.agents = agents
        """Agent state; may be views of rows of a vector env's storage (write in place)."""
        self.objects = ObjectArrays.allocate(len(town.object_ids))
        self.agent_ids: list[str] = [""] * wcfg.agents
        self.agent_names: list[str] = [""] * wcfg.agents
        stages = features.stages
        self.relationships_on = stages.relationships != "off"
        self.social_behaviour = stages.relationships == "C"
        self.relations = Relationships(agents, wcfg.social.decay_per_hour, wcfg.social.faint)
        self.social = SocialStats()
        self.narrator = Narrator(wcfg.narration, self.clock.ticks_per_hour)
        self.lifecycle = Lifecycle(wcfg.lifecycle, features.lifecycle)
        self.perturbations = Perturbations(wcfg.perturbations, features.curriculum)
        self._closures: dict[str, npt.NDArray[np.bool_]] = {}
        self.kpi = Kpis()
        self.timeline: Timeline | None = None
        """Scripted console commands of the config, run at the start of their tick."""
        self.events: list[dict[str, Any]] = []
        self.event_counts: Counter[str] = Counter()
        self._serial = 0
        self._usable: dict[tuple[int, int], npt.NDArray[np.int64]] = {}
        self._masks_tick = -1
        self._masks = np.zeros((wcfg.agents, len(opts.OPTIONS)), dtype=bool)
        for slot in range(wcfg.agents):
            self.spawn(slot, reason="initial")

    @classmethod
    def from_config(
        cls,
        config: TownletConfig,
        hooks: pluggy.HookRelay | None = None,
        agents: AgentArrays | None = None,
    ) -> World:
        """Load the town and affordance files the config names and build the world
        (in ``agents`` when given: storage it clears and keeps, e.g. rows of a vector env)."""
        world = cls(
            config.world,
            config.features,
            config.seed,
            load_town(config.world.town),
            load_affordances(config.world.affordances),
            hooks,
            agents,
            config_id=config.config_id,
        )
        if config.timeline:
            world.timeline = Timeline(config.timeline)
        return world

    # -- read-only view -------------------------------------------------------

    @property
    def n_agents(self) -> int:
        """Agent slots (living or not)."""
        return int(self.agents.alive.size)

    def action_masks(self, rows: TownRows | None = None) -> npt.NDArray[np.bool_]:
        """``[N, options]`` option masks for this tick (cached per tick); ``rows``:
        this world's rows view as it is now, when the caller has one."""
        if self._masks_tick != self.tick:
            self.keep_action_masks(opts.action_masks(TownRows((self,)) if rows is None else rows))
        return self._masks

    def keep_action_masks(self, masks: npt.NDArray[np.bool_]) -> None:
        """Cache this tick's masks, computed elsewhere (a vector env does all towns at once)."""
        self._masks = masks
        self._masks_tick = self.tick

    # -- the tick -------------------------------------------------------------

    def step(self, options: npt.NDArray[np.integer[Any]]) -> None:
        """Advance one tick with one option per agent slot (see :mod:`townlet.core.world.tick`)."""
        step_worlds((self,), options)

    def switch_option(self, slot: int, new: int) -> None:
        """Start option ``new`` for ``slot`` now, dropping what it was doing."""
        a = self.agents
        if a.aff[slot] >= 0:
            self.fail_current(slot, "interrupted")
        self._drop_target(slot)
        if new != a.option[slot]:
            a.option_switches[slot] += 1
            self.kpi.option_switches += 1
        a.option[slot] = new
        a.option_since[slot] = self.tick
        a.option_status[slot] = OptionStatus.ACTIVE

    def midnight(self) -> None:
        """Rent, restock and the daily lifecycle bookkeeping (at the start of a day)."""
        a = self.agents
        econ = self.economy
        rent = round(self.settings.economy.rent * MILLS)
        slots = np.flatnonzero(a.alive)
        due = a.rent_due[slots] + rent
        paid = np.minimum(due, np.maximum(a.wallet[slots], 0))
        econ.transfer(a, slots, -paid, "rent")
        a.rent_due[slots] = due - paid
        for slot in slots[due > paid]:
            self.record("rent_unpaid", int(slot), owed=int(a.rent_due[slot]) / MILLS)
        econ.restock()
        self.lifecycle.midnight(self)
        self.social.conflicts_today = 0

    # -- helpers used by the systems -------------------------------------------

    def record(self, kind: str, slot: int | None, **fields: Any) -> None:
        """Log an event of this tick (telemetry, KPIs)."""
        event: dict[str, Any] = {
            "kind": kind,
            "agent": self.agent_ids[slot] if slot is not None else None,
        }
        event.update(fields)
        self.events.append(event)
        self.event_counts[kind] += 1

    def narrate(self, category: str, slots: tuple[int, ...], **fields: Any) -> bool:
        """Tell a dramatic moment (throttled; see :mod:`townlet.core.world.narration`)."""
        return self.narrator.say(
            self.tick,
            category,
            [self.agent_names[s] for s in slots],
            [self.agent_ids[s] for s in slots],
            **fields,
        )

    def drop_everything(self, slot: int) -> None:
        """Abort the affordance, option, queue and reservation of ``slot``."""
        if self.agents.aff[slot] >= 0:
            self.fail_current(slot, "interrupted")
        self.end_option(slot, OptionStatus.FAILED)

    def force_option(self, slot: int, option: int | None) -> None:
        """Impose ``option`` on ``slot`` whatever its policy says (None: lift it)."""
        self.agents.forced[slot] = NO if option is None else option
        if option is not None and self.agents.option[slot] != option:
            self.drop_everything(slot)
            self.switch_option(slot, option)

    def set_closure(self, place: str, closed: bool) -> None:
        """Close or reopen a place's doors; paths are recomputed."""
        if closed:
            self._closures[place] = door_mask(self, place)
        else:
            self._closures.pop(place, None)
        mask = np.zeros(self.town.shape, dtype=bool)
        for door in self._closures.values():
            mask |= door
        self.close_tiles(mask)

    def hire(self, slot: int) -> bool:
        """Give ``slot`` a free desk, if any; True when hired."""
        a = self.agents
        taken = {int(d) for d in a.desk[a.alive & (a.desk >= 0)]}
        for job, desk in self.desks:
            if desk not in taken:
                a.job[slot], a.desk[slot] = job, desk
                a.shift_state[slot] = ShiftState.OFF
                self.record("hired", slot, workplace=self.settings.jobs.jobs[job].place)
                return True
        return False

    def lose_job(self, slot: int, reason: str) -> None:
        """``slot`` loses its job (``fired`` or ``rage_quit``)."""
        a = self.agents
        if a.option[slot] == Option.GO_TO_WORK:
            self.end_option(slot, OptionStatus.FAILED)
        a.job[slot] = a.desk[slot] = NO
        a.shift_state[slot] = ShiftState.OFF
        self.record("job_lost", slot, reason=reason)
        self.hooks.on_quit_job(
            world=self, tick=self.tick, agent_id=self.agent_ids[slot], reason=reason
        )

    def fail_current(self, slot: int, reason: str) -> None:
        """Abort ``slot``'s affordance (if any) and fail its option."""
        a = self.agents
        aff = int(a.aff[slot])
        o = int(a.target[slot])
        if aff >= 0:
            self.hooks.on_affordance_fail(
                world=self,
                tick=self.tick,
                agent_id=self.agent_ids[slot],
                affordance=self.affordances.ids[aff],
                object_id=self.town.object_ids[o] if o >= 0 else "",
                reason=reason,
            )
        if aff != NO or reason != "interrupted":
            self.kpi.failures[reason] += 1
            self.record(
                "affordance_fail",
                slot,
                reason=reason,
                affordance=self.affordances.ids[aff] if aff >= 0 else None,
            )
        a.aff[slot] = NO
        a.last_ok[slot] = False
        if reason != "interrupted":
            self.end_option(slot, OptionStatus.FAILED)

    def finish_step(self, slot: int) -> None:
        """After a completed affordance: end the option or let it plan its next step."""
        a = self.agents
        done_aff = self.affordances.ids[int(a.goal[slot])] if a.goal[slot] >= 0 else ""
        terminal = _TERMINAL.get(Option(int(a.option[slot])), frozenset())
        if done_aff in terminal:
            self.end_option(slot, OptionStatus.DONE)
        else:
            self._drop_target(slot)

    def end_option(self, slot: int, status: int) -> None:
        """Mark ``slot``'s option done or failed and let go of its target."""
        self.agents.option_status[slot] = status
        if self.agents.aff[slot] == WORK:
            self.agents.aff[slot] = NO
        self._drop_target(slot)

    def _drop_target(self, slot: int) -> None:
        a = self.agents
        if a.aff[slot] == WORK:
            a.aff[slot] = NO
        o = int(a.target[slot])
        if o >= 0 and self.objects.holder[o] == slot:
            release(self, o)
        leave_queue(self, slot)
        a.target[slot] = NO
        a.goal[slot] = NO

    def goal_duration(self, slot: int, goal: int) -> int:
        """Ticks ``slot`` will hold an object for ``goal`` (a shift for WORK)."""
        if goal == WORK:
            tod = self.clock.tick_of_day(self.tick)
            end = int(self.job_end[self.agents.job[slot]])
            return max(1, end - tod) if tod < end else 1
        return int(self.affordances.duration[goal])

    def usable_objects(self, slot: int, goal: int) -> npt.NDArray[np.int64]:
        """Objects offering affordance ``goal`` that ``slot`` may use."""
        a = self.agents
        if self.affordances.ids[goal] == "sleep":
            return (
                np.array([a.bed[slot]], dtype=np.int64)
                if a.bed[slot] >= 0
                else np.array([], np.int64)
            )
        key = (goal, int(a.home[slot]))
        if key not in self._usable:
            kinds = {pid: kind for pid, (kind, _) in self.town.places.items()}
            home = self.home_places[int(a.home[slot])]
            otype = self.affordances.object_type[goal]
            item = int(self.affordances.buy_item[goal])
            public_only = self.affordances.social[goal] == "chat"  # chats happen in public
            found = []
            for o in self.town.objects_of_type(otype):
                place = self.town.object_places[o]
                if kinds[place] == "home" and (place != home or public_only):
                    continue
                shop = int(self.economy.shop_of_object[o])
                if item >= 0 and (shop < 0 or self.economy.daily_stock[shop, item] == 0):
                    continue
                found.append(o)
            self._usable[key] = np.array(found, dtype=np.int64)
        return self._usable[key]

    def occupancy(self) -> npt.NDArray[np.int16]:
        """``[H, W]`` count of living agents per tile."""
        occ = np.zeros(self.town.shape, dtype=np.int16)
        alive = self.agents.alive
        np.add.at(occ, (self.agents.xy[alive, 1], self.agents.xy[alive, 0]), 1)
        return occ

    # -- town events ------------------------------------------------------------

    def set_weather(self, weather: str) -> None:
        """Change the weather: path costs and weather-dependent prices follow."""
        if weather not in WEATHERS:
            raise ValueError(f"unknown weather {weather!r}; one of {WEATHERS}")
        old, self.weather = self.weather, weather
        if old == weather:
            return
        cfg = self.settings
        self.fields.set_outdoor_cost(cfg.weather.outdoor_cost.get(weather, 1.0))  # type: ignore[call-overload]
        meal = ITEMS.index("meal")
        factor = 1.0 + cfg.economy.cold_meal_markup if weather == "cold" else 1.0
        before, after = self.economy.set_multiplier(meal, factor)
        self.record("weather", None, old=old, new=weather)
        self.hooks.on_weather_change(world=self, tick=self.tick, old=old, new=weather)
        if before != after:
            self.hooks.on_price_change(
                world=self, tick=self.tick, item="meal", old=before / MILLS, new=after / MILLS
            )

    def set_utility(self, utility: str, on: bool, until: int = 0) -> None:
        """Switch a utility; an outage ends by itself at tick ``until`` when given."""
        u = UTILITIES.index(utility)
        self.utility_back_at[u] = until
        if bool(self.utility_on[u]) == on:
            return
        self.utility_on[u] = on
        self.record("utility", None, utility=utility, on=on)
        self.hooks.on_power_cut(world=self, tick=self.tick, utility=utility, on=on)

    def teleport(self, slot: int, x: int, y: int) -> None:
        """Move a living agent to a walkable, object-free tile; it drops what it was doing."""
        if not self.agents.alive[slot]:
            raise ValueError(f"slot {slot} holds no living agent")
        h, w = self.town.shape
        if not (0 <= x < w and 0 <= y < h) or not self.walkable[y, x] or self.object_at[y, x] >= 0:
            raise ValueError(f"({x}, {y}) is not a free walkable tile")
        if self.agents.aff[slot] >= 0:
            self.fail_current(slot, "teleported")
        self.end_option(slot, OptionStatus.FAILED)
        self.agents.xy[slot] = (x, y)
        self.agents.ctx_reset[slot] = True

    def close_tiles(self, closed: npt.NDArray[np.bool_]) -> None:
        """Make tiles impassable (a closed facility, roadworks) and recompute paths.

        Object tiles and tiles with an agent on them stay open.
        """
        keep_open = (self.object_at >= 0) | (self.occupancy() > 0)
        closed = closed & ~keep_open
        # with nothing closed, share the map's own array (a cue for fast paths)
        self.walkable = self.town.walkable & ~closed if closed.any() else self.town.walkable
        self.fields.set_closed(closed)

    def spawn(self, slot: int, reason: str, roadside: bool = False) -> None:
        """Put a new citizen in empty slot ``slot``: home, bed, job, needs, money.

        Initial citizens start at home with ``starting_money``; newcomers
        (``roadside``) at a spawn point with a starter kit of 1.5 × rent.
        """
        a = self.agents
        cfg = self.settings
        rng = self.rng.world
        serial = self._serial
        self._serial += 1
        self.agent_ids[slot] = f"agent_{serial:03d}"
        name = _NAMES[serial % len(_NAMES)]
        self.agent_names[slot] = (
            name if serial < len(_NAMES) else f"{name} {serial // len(_NAMES) + 1}"
        )
        home = (slot // 2) % len(self.home_places)
        place = self.home_places[home]
        beds = [o for o in self.town.objects_in_place(place) if self.town.object_types[o] == "bed"]
        a.home[slot] = home
        a.bed[slot] = beds[slot % len(beds)] if beds else NO
        a.job[slot] = a.desk[slot] = NO
        self.hire(slot)
        if roadside:
            points = self.town.spawn_points
            a.xy[slot] = points[int(rng.integers(len(points)))]
        else:
            a.xy[slot] = self._free_tile_in(place)
        a.needs[slot] = rng.uniform(cfg.needs.initial_low, cfg.needs.initial_high, 3)
        a.inventory[slot] = (2, 0, 1)
        a.personality[slot] = [2 * _halton(serial + 1, b) - 1 for b in (2, 3, 5)]
        a.patience[slot] = rng.random()
        a.alive[slot] = True
        a.spawned_at[slot] = self.tick
        embed, recycled = self.lifecycle.embeddings.allocate(self.tick)
        a.embed_slot[slot] = embed
        if recycled:
            self.record("embedding_recycled", slot, embedding=embed)
        a.aff[slot] = a.target[slot] = a.goal[slot] = a.queue_obj[slot] = NO
        a.option[slot] = Option.WAIT
        a.shift_state[slot] = ShiftState.OFF
        a.rent_due[slot] = 0
        a.blocked[slot] = 0
        a.below_threshold[slot] = False
        a.ctx_reset[slot] = True
        a.option_status[slot] = OptionStatus.DONE
        if roadside:
            a.inventory[slot] = (1, 0, 1)
            kit = round(1.5 * cfg.economy.rent * MILLS)
            self.economy.transfer(a, slot, kit, "starter_kit")
        else:
            self.economy.transfer(
                a, slot, round(cfg.economy.starting_money * MILLS), "starting_money"
            )
        self.hooks.on_agent_spawn(
            world=self, tick=self.tick, agent_id=self.agent_ids[slot], reason=reason
        )

    def _free_tile_in(self, place: str) -> npt.NDArray[np.int16]:
        x0, y0, x1, y1 = self.town.places[place][1]
        area = np.zeros(self.town.shape, dtype=bool)
        area[y0 : y1 + 1, x0 : x1 + 1] = True
        free = area & self.walkable & (self.object_at < 0) & (self.occupancy() == 0)
        ys, xs = np.nonzero(free)
        if ys.size == 0:
            ys, xs = np.nonzero(area & self.walkable & (self.object_at < 0))
        k = int(self.rng.world.integers(ys.size))
        return np.array([xs[k], ys[k]], dtype=np.int16)

    def _init_jobs(self) -> None:
        jcfg = self.settings.jobs
        starts, ends, wages = [], [], []
        self.desks: list[tuple[int, int]] = []
        for j, job in enumerate(jcfg.jobs):
            if job.place not in self.town.places:
                where = self.town.path.name
                raise ConfigError(
                    f"world.jobs.jobs[{j}].place: unknown place {job.place!r} in {where}"
                )
            desks = [
                o
                for o in self.town.objects_in_place(job.place)
                if self.town.object_types[o] == "desk"
            ]
            if not desks:
                raise ConfigError(f"world.jobs.jobs[{j}]: place {job.place!r} has no desk")
            starts.append(self.clock.tick_of_hhmm(job.start))
            ends.append(self.clock.tick_of_hhmm(job.end))
            wages.append(round(job.wage * MILLS))
            self.desks.extend((j, int(d)) for d in desks)
        self.job_start = np.array(starts or [0], dtype=np.int64)
        self.job_end = np.array(ends or [0], dtype=np.int64)
        self.job_wage = np.array(wages or [0], dtype=np.int64)
        self.shift_edges = frozenset(starts + ends)
        """Ticks of day at which some shift starts or ends."""

    # -- state --------------------------------------------------------------------

    def stateful(self) -> dict[str, Stateful]:
        """Every part holding persisted state, by snapshot section (restored in this
        order: the world's own values last, as they rebuild derived state)."""
        return {
            "agents": self.agents,
            "objects": self.objects,
            "economy": self.economy,
            "kpi": self.kpi,
            "lifecycle": self.lifecycle,
            "embeddings": self.lifecycle.embeddings,
            "social": self.social,
            "narrator": self.narrator,
            "perturbations": self.perturbations,
            "rng": self.rng,
            "world": self,
        }

    def state_dict(self) -> dict[str, Any]:
        """The world's own values (time, weather, ids, utilities, closures, walkable
        tiles); the rest of its state is in its other :meth:`stateful` parts."""
        return {
            "tick": self.tick,
            "weather": self.weather,
            "serial": self._serial,
            "agent_ids": list(self.agent_ids),
            "agent_names": list(self.agent_names),
            "closures": sorted(self._closures),
            "event_counts": dict(self.event_counts),
            "utility_on": self.utility_on,
            "utility_back_at": self.utility_back_at,
            "utility_forced": self.utility_forced,
            "walkable": self.walkable,
        }

    def check_state_dict(self, state: Mapping[str, Any]) -> None:
        """Raise :class:`~townlet.core.world.persist.StateMismatch` unless ``state``
        (a :meth:`state_dict`) fits this town."""
        if len(state["agent_ids"]) != self.n_agents:
            raise persist.StateMismatch(
                f"{len(state['agent_ids'])} agent slots, this world has {self.n_agents}"
            )
        unknown = sorted(set(state["closures"]) - set(self.town.places))
        if unknown:
            raise persist.StateMismatch(f"closed places {unknown} do not exist in this town")

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output and rebuild what derives from it
        (paths, closures' door masks, caches); this tick's events start empty."""
        self.tick = int(state["tick"])
        self.weather = str(state["weather"])
        self._serial = int(state["serial"])
        self.agent_ids = list(state["agent_ids"])
        self.agent_names = list(state["agent_names"])
        self.event_counts = Counter(state["event_counts"])
        self.utility_on[...] = state["utility_on"]
        self.utility_back_at[...] = state["utility_back_at"]
        self.utility_forced[...] = state["utility_forced"]
        self._closures = {place: door_mask(self, place) for place in state["closures"]}
        closed = self.town.walkable & ~state["walkable"]
        # with nothing closed, share the map's own array, as a fresh world does
        self.walkable = np.array(state["walkable"]) if closed.any() else self.town.walkable
        self.fields.set_closed(closed)
        self.fields.set_outdoor_cost(self.settings.weather.outdoor_cost.get(self.weather, 1.0))  # type: ignore[call-overload]
        self.events = []
        self._usable.clear()
        self._masks_tick = -1

    # -- reload ------------------------------------------------------------------

    def reload_affordances(self, path: Path) -> str:
        """Swap in a new manifest atomically; return its checksum.

        The file is fully parsed and validated first; on any error the old
        manifest stays in force and :class:`ConfigError` says why. Affordances
        in progress whose id vanished are failed cleanly.
        """
        new = load_affordances(path)
        a = self.agents
        remap = {
            i: new.ids.index(aid) for i, aid in enumerate(self.affordances.ids) if aid in new.ids
        }
        for slot in np.flatnonzero(a.alive & (a.aff >= 0)):
            if int(a.aff[slot]) not in remap:
                self.fail_current(int(slot), "manifest_reload")
        for slot in np.flatnonzero(a.alive & (a.goal >= 0)):
            if int(a.goal[slot]) not in remap:
                self._drop_target(int(slot))
        for arr in (a.aff, a.goal):
            for slot in np.flatnonzero(arr >= 0):
                arr[slot] = remap[int(arr[slot])]
        self.affordances = new
        self._usable.clear()
        self.shower_fee = -int(new.money[new.index("shower")]) if "shower" in new.ids else 0
        return new.checksum

    # -- outputs -------------------------------------------------------------------

    def state_hash(self) -> str:
        """Digest of the whole persisted state: equal digests mean equal
        :func:`~townlet.core.world.persist.capture` output."""
        return persist.digest(self)

    def observe(self) -> dict[str, Any]:
        """The world as a JSON-able telemetry snapshot (see docs/telemetry.md)."""
        return report.observe(self)

    def kpi_values(self) -> dict[str, float]:
        """Current KPIs as a flat name → number mapping."""
        return report.kpi_values(self)
