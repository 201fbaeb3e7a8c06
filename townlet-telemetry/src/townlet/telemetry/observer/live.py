"""Watching a running town: ``townlet run --observe`` wires the page to the run.

:func:`observed_config` makes sure the run streams to a ``websocket`` sink;
:class:`LiveObserver` binds the page's controls to it (speed, console,
policy inspector, the town map) and paces the tick loop (its :meth:`on_tick
<LiveObserver.on_tick>` runs after every tick).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from townlet.core.config_base import PluginChoice
from townlet.core.console.bus import Presentation, Result
from townlet.core.console.commands import COMMANDS
from townlet.core.errors import TownletError
from townlet.core.ports import OPTIONS
from townlet.core.world.townmap import TILE_KINDS, TownMap
from townlet.telemetry.observer.controls import ObserverControls
from townlet.telemetry.observer.pacing import Pacer
from townlet.telemetry.sinks.websocket import WebsocketSink

if TYPE_CHECKING:
    from townlet.core.config.models import TownletConfig
    from townlet.core.console.bus import ConsoleBus
    from townlet.core.sim import Simulation
    from townlet.core.telemetry import Anonymizer

__all__ = ["LiveObserver", "observed_config", "town_document"]

_SINK = "websocket"


def observed_config(config: TownletConfig, port: int | None) -> TownletConfig:
    """``config`` with a ``websocket`` sink (on ``port`` when given; the first one if several)."""
    sinks = list(config.telemetry.sinks)
    found = next((i for i, s in enumerate(sinks) if s.name == _SINK), None)
    if found is None:
        sinks.append(PluginChoice(name=_SINK, params={} if port is None else {"port": port}))
    elif port is not None:
        sinks[found] = PluginChoice(name=_SINK, params={**sinks[found].params, "port": port})
    else:
        return config
    telemetry = config.telemetry.model_copy(update={"sinks": sinks})
    return config.model_copy(update={"telemetry": telemetry})


def town_document(town: TownMap) -> dict[str, Any]:
    """The static map for the page: tile kinds, one string of tile indices per row, places."""
    return {
        "name": town.name,
        "width": town.shape[1],
        "height": town.shape[0],
        "tile_kinds": list(TILE_KINDS),
        "rows": ["".join(str(int(t)) for t in row) for row in town.tiles],
        "places": {
            pid: {"kind": kind, "area": list(area)} for pid, (kind, area) in town.places.items()
        },
    }


class LiveObserver:
    """Binds an observer page to a running :class:`~townlet.core.sim.Simulation`."""

    def __init__(
        self,
        sim: Simulation,
        bus: ConsoleBus | None,
        *,
        speed: str = "1",
        announce: Callable[[str], None] = print,
    ) -> None:
        sinks = [s for s in sim.hub.sinks if isinstance(s, WebsocketSink)]
        if not sinks:
            raise ValueError("the run has no websocket sink to observe (see observed_config)")
        self.sink = sinks[0]
        self.sim = sim
        self.bus = bus
        self.pacer = Pacer(speed)
        self._announce: Callable[[str], None] | None = announce
        self._inspected: frozenset[str] = frozenset()
        """Agents whose inspection went out for the current tick."""
        privacy = sim.config.telemetry.privacy
        anonymizer = sim.hub.anonymizer
        self._presentation = (
            None
            if anonymizer is None
            else _hashed_presentation(anonymizer, lambda: sim.world.agent_ids)
        )
        # with hashed ids the page cannot name an agent the policy knows
        self._inspect = getattr(sim.policy, "inspect", None) if not privacy else None
        self.sink.bind_observer(
            ObserverControls(
                mode="live",
                pacer=self.pacer,
                console=self._console if bus is not None else None,
                town=town_document(sim.world.town),
                inspector=self._inspect is not None,
                privacy=privacy,
                commands=tuple(
                    {
                        "name": c.name,
                        "role": c.role,
                        "args": list(c.args.model_fields),
                        "help": c.help,
                    }
                    for c in COMMANDS.values()
                )
                if bus is not None
                else (),
            )
        )

    def _console(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        assert self.bus is not None
        return self.bus.request(raw, presentation=self._presentation).as_dict()

    def on_tick(self, tick: int, stopping: Callable[[], bool] = lambda: False) -> None:
        """After each tick: announce the page once, send inspections, keep to the speed."""
        if self._announce is not None:  # the server listens once the run has started
            if self.sink.address is None:
                host, port = self.sink.params.host, self.sink.params.port
                raise TownletError(
                    f"the observer cannot serve on {host}:{port} (the websocket sink's error "
                    "is above); choose another --port (0: any free port)"
                )
            self._announce(f"observer: {self.sink.url}")
            self._announce = None
        self._inspected = frozenset()
        self._inspect_new(tick)
        self.pacer.wait(stopping, lambda: self._idle(tick))

    def _idle(self, tick: int) -> None:
        """While the town waits (paused, or between paced ticks): serve the console, and
        inspect agents a page has just selected."""
        if self.bus is not None:
            self.bus.apply_pending(self.sim.world)
        self._inspect_new(tick)

    def _inspect_new(self, tick: int) -> None:
        if self._inspect is None:
            return
        watched = self.sink.watched_agents()
        if fresh := watched - self._inspected:
            self._send_inspections(tick, fresh)
        self._inspected = watched

    def _send_inspections(self, tick: int, agents: frozenset[str]) -> None:
        assert self._inspect is not None
        world = self.sim.world
        masks = world.action_masks()
        for agent in agents:
            message: dict[str, Any] = {"type": "inspection", "tick": tick, "agent": agent}
            try:
                slot = world.agent_ids.index(agent)
                decision = self._inspect(slot)
            except (ValueError, IndexError):
                message["message"] = "no decision by the policy for this agent yet"
            else:
                message["probabilities"] = {
                    k: round(float(v), 4) for k, v in decision["probabilities"].items()
                }
                message["value"] = round(float(decision["value"]), 4)
                mask = np.asarray(masks[slot]).tolist()
                message["mask"] = dict(zip(OPTIONS, map(bool, mask), strict=True))
            self.sink.post(message, agent=agent)


def _hashed_presentation(
    anonymizer: Anonymizer, agent_ids: Callable[[], list[str]]
) -> Presentation:
    """Console requests from a page that sees hashed ids (``telemetry.privacy``): hashed ids
    in arguments name their agents, and answers carry hashes instead of ids and names.
    Both run on the tick thread, where the anonymizer learns new ids."""

    def inbound(raw: dict[str, Any]) -> dict[str, Any]:
        args = raw.get("args")
        if not isinstance(args, dict):
            return raw
        real = {anonymizer.agent_id(a): a for a in agent_ids()}
        named = {k: real.get(v, v) if isinstance(v, str) else v for k, v in args.items()}
        return {**raw, "args": named}

    def hashed(value: Any) -> Any:
        if isinstance(value, str):
            return anonymizer.text(value)
        if isinstance(value, dict):
            return {hashed(k): hashed(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [hashed(v) for v in value]
        return value

    def outbound(result: Result) -> Result:
        return dataclasses.replace(
            result, message=anonymizer.text(result.message), data=hashed(result.data)
        )

    return Presentation(inbound, outbound)
