"""What an observer page may do besides watching: the controls a run or replay offers.

The websocket sink serves the stream to every page; a run (``townlet run
--observe``) or a replay (``townlet telemetry replay --observe``) binds
:class:`ObserverControls` to it with :meth:`WebsocketSink.bind_observer
<townlet.telemetry.sinks.websocket.WebsocketSink.bind_observer>`. Each part
is optional; the page shows only what is bound (it learns which from the
``hello`` message).

Messages a page sends (JSON text frames, besides ``{"type": "snapshot"}``):

- ``{"type": "speed", "speed": "pause" | "1" | "10" | "100" | "max"}``
- ``{"type": "console", "cmd_id", "token", "command", "args"}``: one console
  request, answered by ``{"type": "console_result", "cmd_id", "ok", "code",
  "message", "data"}`` (the console bus decides, with the page's token)
- ``{"type": "inspect", "agent": id | null}``: follow one agent's policy
  decisions (``{"type": "inspection", ...}`` after every tick)
- ``{"type": "seek", "tick": N}``: a replay jumps to the recorded tick N

Messages a server sends besides payloads: ``hello`` (on connect), ``speed``
(after every change), ``console_result``, ``inspection``, ``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from townlet.telemetry.observer.pacing import SPEEDS, Pacer

__all__ = ["ObserverControls", "ReplayRange"]


@dataclass(frozen=True, slots=True)
class ReplayRange:
    """The recorded ticks a replay can seek to, and how to seek."""

    first_tick: int
    last_tick: int
    seek: Callable[[int], None]
    """Ask the replay to show recorded tick N next (thread-safe, returns at once)."""


@dataclass(frozen=True, slots=True)
class ObserverControls:
    """The controls bound to an observer server (see the module docstring)."""

    mode: Literal["live", "replay"]
    pacer: Pacer | None = None
    """Speed control (pause, 1×, 10×, 100×, max)."""
    console: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    """Runs one console request and returns its result (blocks until the next tick)."""
    town: dict[str, Any] | None = None
    """The static town map (tiles and places) served at ``/town.json``."""
    inspector: bool = False
    """The policy can be inspected (option probabilities, value, action mask)."""
    replay: ReplayRange | None = None
    """Seeking in a recorded stream."""
    privacy: bool = False
    """Ids and names in the stream are hashed (telemetry privacy mode)."""
    commands: tuple[dict[str, Any], ...] = ()
    """Console commands the page can offer: ``{"name", "role", "args", "help"}`` each."""

    def hello(self) -> dict[str, Any]:
        """The ``hello`` message a page gets on connecting."""
        return {
            "type": "hello",
            "mode": self.mode,
            "speed": self.pacer.speed if self.pacer is not None else None,
            "speeds": list(SPEEDS) if self.pacer is not None else [],
            "console": self.console is not None,
            "inspector": self.inspector,
            "town": self.town is not None,
            "privacy": self.privacy,
            "commands": list(self.commands),
            "replay": None
            if self.replay is None
            else {"first_tick": self.replay.first_tick, "last_tick": self.replay.last_tick},
        }
