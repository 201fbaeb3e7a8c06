"""Console commands: one pydantic argument model and one handler each.

Handlers run inside the tick (see :mod:`townlet.core.console.bus`), validate
against the live world and either change it or raise :class:`Refused` with an
error code. Nothing is changed when a command is refused. A command marked
``with_context`` also receives the bus's :class:`ConsoleContext` (its snapshot
directory and health counters).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from townlet.core.world.affordances import ITEMS, NEEDS
from townlet.core.world.options import OPTIONS, Option
from townlet.core.world.state import MILLS, NO

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["COMMANDS", "Command", "ConsoleContext", "Refused"]


class Refused(Exception):
    """A command that cannot apply: ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ConsoleContext:
    """What a ``with_context`` command may read besides the world."""

    snapshot_dir: Path | None = None
    """The only directory ``snapshot`` reads and writes (None: refused)."""
    health: Mapping[str, int] = field(default_factory=dict)
    """The console's counters (:class:`~townlet.core.console.bus.ConsoleStats`)."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(_Args):
    """No arguments."""


class AgentArg(_Args):
    agent: str = Field(description="Agent id, e.g. agent_003.")


class SpawnArgs(_Args):
    reason: str = Field("console", description="Recorded with the arrival.")


class TeleportArgs(_Args):
    agent: str = Field(description="Agent id.")
    x: int = Field(ge=0, description="Target column.")
    y: int = Field(ge=0, description="Target row.")


class PriceArgs(_Args):
    item: Literal["raw_food", "meal", "clean_clothes"]
    factor: float = Field(gt=0, le=10, description="Multiplier of the base price (0..10].")


class SwitchArgs(_Args):
    state: Literal["on", "off"] = Field(description="on: enabled; off: disabled.")


class BlackoutArgs(_Args):
    state: Literal["on", "off"] = Field(
        description="on: the power is cut (until off); off: the power is back."
    )


class RainArgs(_Args):
    state: Literal["start", "stop"]


class PossessArgs(_Args):
    agent: str = Field(description="Agent id.")
    action: Literal["take", "release"] = "take"


class ControlArgs(_Args):
    agent: str = Field(description="A possessed agent.")
    option: Literal[OPTIONS] = Field(description="Option it performs next.")  # type: ignore[valid-type]


class SetNeedArgs(_Args):
    agent: str
    need: Literal["hunger", "hygiene", "energy"]
    value: float = Field(ge=0, le=1, description="New value in [0, 1].")


class SetRelArgs(_Args):
    agent: str
    other: str
    dim: Literal["trust", "familiarity", "rivalry"]
    value: float = Field(ge=-1, le=1, description="New value in [-1, 1].")


class ChatArgs(_Args):
    agent: str
    other: str


class CountArgs(_Args):
    value: int = Field(ge=0, le=1000, description="New value (0..1000).")


class DelayArgs(_Args):
    min_ticks: int = Field(ge=1, le=10_000)
    max_ticks: int = Field(ge=1, le=10_000)


class ThresholdArgs(_Args):
    deficit: float = Field(gt=0, le=1, description="Hunger deficit of a collapse (0..1].")


class SnapshotArgs(_Args):
    action: Literal["save", "load"]
    path: str = Field(
        min_length=1,
        max_length=255,
        description="A file name in the run's snapshot directory (--snapshot-dir).",
    )


@dataclass(frozen=True)
class Command:
    """A console command: arguments, required role, handler.

    The handler is called ``handler(world, args)``, or ``handler(world, args,
    context)`` with a :class:`ConsoleContext` when ``with_context`` is set.
    """

    name: str
    args: type[BaseModel]
    role: Literal["viewer", "admin"]
    handler: Callable[..., dict[str, Any]]
    help: str
    with_context: bool = False


def _slot(world: World, agent: str) -> int:
    try:
        slot = world.agent_ids.index(agent)
    except ValueError:
        raise Refused("unknown_agent", f"no agent {agent!r} in town") from None
    if not world.agents.alive[slot]:
        raise Refused("unknown_agent", f"{agent} has left town")
    return slot


def _status(world: World, _: NoArgs, context: ConsoleContext) -> dict[str, Any]:
    return {
        "tick": world.tick,
        "weather": world.weather,
        "kpis": world.kpi_values(),
        "agents": [world.agent_ids[s] for s in range(world.n_agents) if world.agents.alive[s]],
        "console": dict(context.health),
    }


def _agent(world: World, args: AgentArg) -> dict[str, Any]:
    slot = _slot(world, args.agent)
    snap: dict[str, Any] = world.observe()["agents"][args.agent]
    snap["possessed"] = bool(world.agents.possessed[slot])
    return snap


def _spawn(world: World, args: SpawnArgs) -> dict[str, Any]:
    free = [s for s in range(world.n_agents) if not world.agents.alive[s]]
    if not free:
        raise Refused("town_full", "every agent slot is taken")
    world.lifecycle.pending = [(t, s) for t, s in world.lifecycle.pending if s != free[0]]
    world.spawn(free[0], reason=args.reason, roadside=True)
    return {"agent": world.agent_ids[free[0]]}


def _teleport(world: World, args: TeleportArgs) -> dict[str, Any]:
    slot = _slot(world, args.agent)
    h, w = world.town.shape
    if args.x >= w or args.y >= h:
        raise Refused("out_of_bounds", f"({args.x}, {args.y}) is outside the {w}x{h} town")
    if not world.walkable[args.y, args.x]:
        raise Refused("blocked_tile", f"({args.x}, {args.y}) is a wall or closed")
    if world.object_at[args.y, args.x] >= 0:
        raise Refused("blocked_tile", f"({args.x}, {args.y}) holds an object")
    world.teleport(slot, args.x, args.y)
    return {"agent": args.agent, "x": args.x, "y": args.y}


def _price(world: World, args: PriceArgs) -> dict[str, Any]:
    old, new = world.economy.set_multiplier(ITEMS.index(args.item), args.factor)
    world.hooks.on_price_change(
        world=world, tick=world.tick, item=args.item, old=old / MILLS, new=new / MILLS
    )
    return {"item": args.item, "old": old / MILLS, "new": new / MILLS}


def _set_utility(world: World, utility: str, on: bool) -> dict[str, Any]:
    world.utility_forced[("power", "water").index(utility)] = not on
    world.set_utility(utility, on)
    return {utility: on}


def _blackout(world: World, args: BlackoutArgs) -> dict[str, Any]:
    return _set_utility(world, "power", on=args.state == "off")


def _water(world: World, args: SwitchArgs) -> dict[str, Any]:
    return _set_utility(world, "water", on=args.state == "on")


def _rain(world: World, args: RainArgs) -> dict[str, Any]:
    world.set_weather("rainy" if args.state == "start" else "sunny")
    return {"weather": world.weather}


def _possess(world: World, args: PossessArgs) -> dict[str, Any]:
    slot = _slot(world, args.agent)
    if args.action == "take":
        if world.agents.possessed[slot]:
            raise Refused("already_possessed", f"{args.agent} is already possessed")
        sleep = world.affordances.ids.index("sleep") if "sleep" in world.affordances.ids else NO
        if world.agents.aff[slot] == sleep and sleep != NO:
            raise Refused("asleep", f"{args.agent} is asleep")
        world.agents.possessed[slot] = True
        world.force_option(slot, Option.WAIT)
    else:
        if not world.agents.possessed[slot]:
            raise Refused("not_possessed", f"{args.agent} is not possessed")
        world.agents.possessed[slot] = False
        world.force_option(slot, None)
    world.agents.ctx_reset[slot] = True
    return {"agent": args.agent, "possessed": bool(world.agents.possessed[slot])}


def _control(world: World, args: ControlArgs) -> dict[str, Any]:
    slot = _slot(world, args.agent)
    if not world.agents.possessed[slot]:
        raise Refused("not_possessed", f"{args.agent} must be possessed first")
    option = OPTIONS.index(args.option)
    if not world.action_masks()[slot, option]:
        raise Refused("masked", f"{args.option} is not possible for {args.agent} now")
    world.force_option(slot, option)
    return {"agent": args.agent, "option": args.option}


def _setneed(world: World, args: SetNeedArgs) -> dict[str, Any]:
    slot = _slot(world, args.agent)
    world.agents.needs[slot, NEEDS.index(args.need)] = args.value
    return {"agent": args.agent, args.need: args.value}


def _set_rel(world: World, args: SetRelArgs) -> dict[str, Any]:
    a, b = _slot(world, args.agent), _slot(world, args.other)
    if a == b:
        raise Refused("same_agent", "an agent has no tie to itself")
    if not world.relationships_on:
        raise Refused("relationships_off", "relationships are off in this run")
    deltas = {"trust": 0.0, "familiarity": 0.0, "rivalry": 0.0}
    deltas[args.dim] = args.value - world.relations.tie(a, b)[list(deltas).index(args.dim)]
    world.relations.update(a, b, deltas["trust"], deltas["familiarity"], deltas["rivalry"])
    return {
        "agent": args.agent,
        "other": args.other,
        args.dim: world.relations.tie(a, b)[list(deltas).index(args.dim)],
    }


def _force_chat(world: World, args: ChatArgs) -> dict[str, Any]:
    a, b = _slot(world, args.agent), _slot(world, args.other)
    if a == b:
        raise Refused("same_agent", "an agent cannot chat with itself")
    for slot, name in ((a, args.agent), (b, args.other)):
        if world.agents.aff[slot] != NO:
            raise Refused("busy", f"{name} is busy")
    world.agents.xy[b] = world.agents.xy[a]
    from townlet.core.world.social import finish_chat

    finish_chat(world, a)
    return {"agent": args.agent, "other": args.other}


def _arrange_meet(world: World, args: ChatArgs) -> dict[str, Any]:
    a, b = _slot(world, args.agent), _slot(world, args.other)
    if a == b:
        raise Refused("same_agent", "an agent cannot meet itself")
    pid = world.perturbations.trigger(world, "arranged_meet", agents=[a, b])
    return {"perturbation": pid}


def _kill(world: World, args: AgentArg) -> dict[str, Any]:
    slot = _slot(world, args.agent)
    world.lifecycle.leave(world, slot, "console")
    return {"agent": args.agent}


def _mortality(world: World, args: SwitchArgs) -> dict[str, Any]:
    world.lifecycle.mortality = args.state == "on"
    return {"mortality": world.lifecycle.mortality}


def _exit_cap(world: World, args: CountArgs) -> dict[str, Any]:
    world.lifecycle.max_exits_per_day = args.value
    return {"max_exits_per_day": args.value}


def _spawn_delay(world: World, args: DelayArgs) -> dict[str, Any]:
    if args.min_ticks > args.max_ticks:
        raise Refused("bad_range", "min_ticks must not exceed max_ticks")
    world.lifecycle.spawn_delay = (args.min_ticks, args.max_ticks)
    return {"spawn_delay": [args.min_ticks, args.max_ticks]}


def _death_threshold(world: World, args: ThresholdArgs) -> dict[str, Any]:
    world.lifecycle.collapse_deficit = args.deficit
    return {"collapse_deficit": args.deficit}


def _snapshot(world: World, args: SnapshotArgs, context: ConsoleContext) -> dict[str, Any]:
    from townlet.core.console.paths import PathRefused, snapshot_target
    from townlet.core.snapshots import SnapshotError, load_snapshot, save_snapshot

    if context.snapshot_dir is None:
        raise Refused("no_snapshot_dir", "this run has no snapshot directory")
    loading = args.action == "load"
    try:
        path = snapshot_target(context.snapshot_dir, args.path, must_exist=loading)
    except PathRefused as exc:
        raise Refused("path_refused", str(exc)) from None
    if not loading:
        try:
            return {"saved": str(save_snapshot(world, path)), "tick": world.tick}
        except OSError as exc:
            raise Refused("snapshot_failed", f"cannot write {str(path)!r}: {exc}") from None
    try:
        snap = load_snapshot(world, path)
    except (SnapshotError, OSError) as exc:
        raise Refused("snapshot_refused", str(exc)) from None
    return {"loaded": str(path), "tick": int(snap.header["tick"])}


def _c(
    name: str,
    args: type[BaseModel],
    role: Literal["viewer", "admin"],
    handler: Callable[..., dict[str, Any]],
    help: str,
    *,
    with_context: bool = False,
) -> Command:
    return Command(name, args, role, handler, help, with_context)


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        _c(
            "status",
            NoArgs,
            "viewer",
            _status,
            "Tick, weather, KPIs, living agents and the console's counters.",
            with_context=True,
        ),
        _c("agent", AgentArg, "viewer", _agent, "One agent's state."),
        _c("spawn", SpawnArgs, "admin", _spawn, "Bring a newcomer into an empty slot now."),
        _c("teleport", TeleportArgs, "admin", _teleport, "Move an agent to a free floor tile."),
        _c("price", PriceArgs, "admin", _price, "Set an item's price as a factor of its base."),
        _c("blackout", BlackoutArgs, "admin", _blackout, "Cut power (on) or end the cut (off)."),
        _c("water", SwitchArgs, "admin", _water, "Turn water on or off (held until on)."),
        _c("rain", RainArgs, "admin", _rain, "Start or stop rain."),
        _c("possess", PossessArgs, "admin", _possess, "Take or release control of an agent."),
        _c("control", ControlArgs, "admin", _control, "Choose the option of a possessed agent."),
        _c("setneed", SetNeedArgs, "admin", _setneed, "Set one need of an agent."),
        _c("set_rel", SetRelArgs, "admin", _set_rel, "Set one dimension of a tie."),
        _c("force_chat", ChatArgs, "admin", _force_chat, "Make two idle agents chat now."),
        _c("arrange_meet", ChatArgs, "admin", _arrange_meet, "Send two agents to meet."),
        _c("kill", AgentArg, "admin", _kill, "Remove an agent from town."),
        _c("toggle_mortality", SwitchArgs, "admin", _mortality, "Allow (on) or stop exits."),
        _c("set_exit_cap", CountArgs, "admin", _exit_cap, "Most exits per sim day."),
        _c("set_spawn_delay", DelayArgs, "admin", _spawn_delay, "Newcomer delay bounds."),
        _c(
            "set_death_threshold",
            ThresholdArgs,
            "admin",
            _death_threshold,
            "Hunger deficit that counts as collapse.",
        ),
        _c(
            "snapshot",
            SnapshotArgs,
            "admin",
            _snapshot,
            "Save or load a snapshot in the run's snapshot directory.",
            with_context=True,
        ),
    )
}
"""Every console command by name."""
