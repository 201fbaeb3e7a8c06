"""Exits and arrivals: who leaves town, when, and who comes instead.

Exit causes: *collapse* (hunger deficit above ``collapse_deficit`` for
``collapse_ticks`` ticks in a row), *eviction* (rent unpaid at
``eviction_days`` midnights in a row, then one more day to recover),
*unemployment* (no job for ``unemployment_days`` days; a job is lost after
``fire_after_absences`` absent days in a row and regained after
``rehire_days`` when a desk is free), *neglect* (any need deficit above
``neglect_deficit`` for ``neglect_fraction`` of a day) and optional *age_out*.

At most ``max_exits_per_day`` exits a day, ``exit_cooldown`` ticks apart, none
while power or water is out city-wide nor for ``outage_grace`` ticks after;
none at all in ``training_mode``. Each exit schedules a newcomer at a roadside
spawn point 5-20 ticks later with a starter kit (1.5 × rent, one raw food,
clean clothes) and a personality from a low-discrepancy sequence.

Embedding slots (an agent's identity in observations) come from a namespace of
``embedding_slots``; a freed slot rests ``embedding_cooldown`` ticks before
reuse, and when none has rested long enough the one freed longest ago is
recycled and the event logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from townlet.core.world.settings import LifecycleConfig
from townlet.core.world.state import MILLS, NO

if TYPE_CHECKING:
    from townlet.core.world.rows import TownRows
    from townlet.core.world.world import World

__all__ = ["EmbeddingSlots", "Lifecycle", "count_danger"]


class EmbeddingSlots:
    """Allocator for the agent-embedding namespace."""

    def __init__(self, size: int, cooldown: int) -> None:
        self.cooldown = cooldown
        self.in_use = np.zeros(size, dtype=bool)
        self.freed_at = np.full(size, np.iinfo(np.int64).min // 2, dtype=np.int64)

    def allocate(self, tick: int) -> tuple[int, bool]:
        """Return ``(slot, recycled)``; ``recycled`` when reused before its cooldown."""
        free = np.flatnonzero(~self.in_use)
        if free.size == 0:
            raise RuntimeError("every embedding slot is in use; raise lifecycle.embedding_slots")
        rested = free[tick - self.freed_at[free] >= self.cooldown]
        recycled = rested.size == 0
        slot = int(free[np.argmin(self.freed_at[free])]) if recycled else int(rested[0])
        self.in_use[slot] = True
        return slot, recycled

    def release(self, slot: int, tick: int) -> None:
        """Free ``slot`` at ``tick``."""
        self.in_use[slot] = False
        self.freed_at[slot] = tick

    def state_dict(self) -> dict[str, Any]:
        """``in_use`` and ``freed_at`` (the arrays themselves: copy before keeping)."""
        return {"in_use": self.in_use, "freed_at": self.freed_at}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Write :meth:`state_dict`'s arrays in place."""
        self.in_use[...] = state["in_use"]
        self.freed_at[...] = state["freed_at"]


class Lifecycle:
    """The exit/arrival rules; their per-slot counters are in the agent store."""

    def __init__(self, config: LifecycleConfig, enabled: bool) -> None:
        self.config = config
        self.enabled = enabled
        self.mortality = not config.training_mode
        self.max_exits_per_day = config.max_exits_per_day
        self.exit_cooldown = config.exit_cooldown
        self.spawn_delay = (config.spawn_delay_min, config.spawn_delay_max)
        self.collapse_deficit = config.collapse_deficit
        self.exits_today = 0
        self.last_exit = -(10**9)
        self.suppressed_until = -1
        self.pending: list[tuple[int, int]] = []
        """(tick, slot) of scheduled arrivals."""
        self.exits = 0
        self.arrivals = 0
        self.embeddings = EmbeddingSlots(config.embedding_slots, config.embedding_cooldown)

    def state_dict(self) -> dict[str, Any]:
        """Town-wide counters, the console's settings and pending arrivals (JSON-able;
        the per-slot counters are in the agent store, the embeddings separate)."""
        return {
            "exits_today": self.exits_today,
            "last_exit": self.last_exit,
            "suppressed_until": self.suppressed_until,
            "pending": [list(p) for p in self.pending],
            "exits": self.exits,
            "arrivals": self.arrivals,
            "mortality": self.mortality,
            "max_exits_per_day": self.max_exits_per_day,
            "exit_cooldown": self.exit_cooldown,
            "spawn_delay": list(self.spawn_delay),
            "collapse_deficit": self.collapse_deficit,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.exits_today, self.last_exit = state["exits_today"], state["last_exit"]
        self.suppressed_until = state["suppressed_until"]
        self.pending = [(int(t), int(slot)) for t, slot in state["pending"]]
        self.exits, self.arrivals = state["exits"], state["arrivals"]
        self.mortality, self.max_exits_per_day = state["mortality"], state["max_exits_per_day"]
        self.exit_cooldown = state["exit_cooldown"]
        low, high = state["spawn_delay"]
        self.spawn_delay = (low, high)
        self.collapse_deficit = state["collapse_deficit"]

    def step(self, world: World) -> None:
        """Exit at most one agent, bring in due newcomers (after :func:`count_danger`)."""
        cfg = self.config
        if not world.utility_on.all():
            self.suppressed_until = world.tick + cfg.outage_grace
        self._maybe_exit(world)
        due = [slot for tick, slot in self.pending if tick <= world.tick] if self.pending else ()
        if due:
            self.pending = [(t, s) for t, s in self.pending if t > world.tick]
            for newcomer in due:
                self.arrive(world, newcomer)

    def reasons(self, world: World) -> npt.NDArray[np.object_]:
        """Per slot, the exit cause that applies now ('' when none)."""
        a = world.agents
        cfg = self.config
        out = np.full(a.alive.size, "", dtype=object)
        day = world.clock.ticks_per_day
        if cfg.age_out_days is not None:
            out[a.alive & (world.tick - a.spawned_at >= cfg.age_out_days * day)] = "age_out"
        out[a.alive & (a.jobless_days >= cfg.unemployment_days)] = "unemployment"
        out[a.alive & (a.neglect_ticks >= cfg.neglect_fraction * day)] = "neglect"
        out[a.alive & (a.unpaid_days > cfg.eviction_days)] = "eviction"
        out[a.alive & (a.collapse_ticks >= cfg.collapse_ticks)] = "collapse"
        return out

    def _maybe_exit(self, world: World) -> None:
        if not (self.enabled and self.mortality):
            return
        if world.tick < self.suppressed_until:
            return
        if (
            self.exits_today >= self.max_exits_per_day
            or world.tick - self.last_exit < self.exit_cooldown
        ):
            return
        reasons = self.reasons(world)
        candidates = np.flatnonzero(reasons != "")
        if candidates.size:
            leaving = int(candidates[0])
            self.leave(world, leaving, str(reasons[leaving]))

    def leave(self, world: World, slot: int, reason: str) -> None:
        """``slot`` leaves town now; a newcomer is scheduled in its place."""
        a = world.agents
        world.drop_everything(slot)
        world.economy.departed += int(a.wallet[slot])
        a.wallet[slot] = 0
        a.inventory[slot] = 0
        world.relations.clear_slot(slot)
        if a.embed_slot[slot] >= 0:
            self.embeddings.release(int(a.embed_slot[slot]), world.tick)
        a.embed_slot[slot] = NO
        a.alive[slot] = False
        a.job[slot] = a.desk[slot] = NO
        self.exits += 1
        self.exits_today += 1
        self.last_exit = world.tick
        world.record("exit", slot, reason=reason)
        world.narrate("left_town", (slot,), reason=reason)
        world.hooks.on_agent_exit(
            world=world, tick=world.tick, agent_id=world.agent_ids[slot], reason=reason
        )
        delay = int(world.rng.events.integers(self.spawn_delay[0], self.spawn_delay[1] + 1))
        self.pending.append((world.tick + delay, slot))

    def arrive(self, world: World, slot: int) -> None:
        """A newcomer takes empty slot ``slot`` at the roadside."""
        a = world.agents
        a.collapse_ticks[slot] = a.neglect_ticks[slot] = 0
        a.unpaid_days[slot] = a.absent_streak[slot] = a.jobless_days[slot] = 0
        a.near_death[slot] = False
        world.spawn(slot, reason="replacement", roadside=True)
        self.arrivals += 1
        world.narrate("new_arrival", (slot,))

    def midnight(self, world: World) -> None:
        """Daily bookkeeping: rent arrears, absences, jobs, neglect counters."""
        a = world.agents
        cfg = self.config
        alive = a.alive
        self.exits_today = 0
        a.neglect_ticks[:] = 0
        a.unpaid_days[:] = np.where(alive & (a.rent_due > 0), a.unpaid_days + 1, 0)
        for slot in np.flatnonzero(alive & (a.unpaid_days == cfg.eviction_days)):
            world.record("eviction_notice", int(slot), owed=int(a.rent_due[slot]) / MILLS)
        absent = alive & (a.job >= 0) & (a.absent_days > a.absent_seen)
        worked = alive & (a.job >= 0) & (a.shift_days > a.shifts_seen) & ~absent
        a.absent_seen[:] = a.absent_days
        a.shifts_seen[:] = a.shift_days
        a.absent_streak[:] = np.where(
            absent, a.absent_streak + 1, np.where(worked, 0, a.absent_streak)
        )
        for slot in np.flatnonzero(
            alive & (a.job >= 0) & (a.absent_streak >= cfg.fire_after_absences)
        ):
            world.lose_job(int(slot), "fired")
            a.absent_streak[slot] = 0
        jobless = alive & (a.job < 0) & a.employable
        a.jobless_days[:] = np.where(jobless, a.jobless_days + 1, 0)
        for slot in np.flatnonzero(jobless & (a.jobless_days > cfg.rehire_days)):
            world.hire(int(slot))


def count_danger(towns: TownRows) -> None:
    """Near-death hooks and the collapse and neglect counters, over every town's rows."""
    a = towns.agents
    cfg = towns.config.world.lifecycle
    lives = [w.lifecycle for w in towns.worlds]
    deficit = 1.0 - a.needs
    worst = deficit.max(axis=1)
    alive = a.alive
    danger = alive & (worst > cfg.near_death_deficit)
    entering = danger & ~a.near_death
    for row in np.flatnonzero(entering).tolist():
        world, slot = towns.locate(row)
        need = int(np.argmax(deficit[row]))
        world.hooks.on_agent_near_death(
            world=world,
            tick=world.tick,
            agent_id=world.agent_ids[slot],
            need=("hunger", "hygiene", "energy")[need],
            deficit=float(deficit[row, need]),
        )
    limits = [life.collapse_deficit for life in lives]  # the console may change a town's
    limit = (  # compared in float32, as a Python float is
        limits[0] if len(set(limits)) == 1 else np.array(limits, np.float32)[towns.town_index]
    )
    a.near_death[:] = danger
    # count up while starving, back to 0 otherwise
    a.collapse_ticks += 1
    a.collapse_ticks *= alive & (deficit[:, 0] > limit)
    a.neglect_ticks += alive & (worst > cfg.neglect_deficit)
