"""Scripted console commands at fixed ticks: a scenario's timeline.

A config's ``timeline`` lists :class:`TimelineEvent` entries (``at``,
``command``, ``args``). The command name and argument types are checked when
the config loads, like an operator's request; the live checks (unknown agent,
blocked tile, busy, …) run when the event applies. A world built from a
config with a timeline carries a :class:`Timeline`, which runs the events due
at the start of each tick (before any system, after the policy chose) through
a :class:`~townlet.core.console.bus.ConsoleBus` of its own, with the admin
role: each event is validated like an operator command, written to the audit
log when one is set, and recorded as a ``scripted`` world event.

City-wide commands (:data:`CITY_WIDE`) are refused in a timeline of a config
whose curriculum stage is M0, M1 or M2, where city-wide events are locked out.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import Field, ValidationError, model_validator

from townlet.core._validation import format_validation_error, nearest
from townlet.core.config_base import ConfigModel
from townlet.core.console.bus import ConsoleBus, Result
from townlet.core.console.commands import COMMANDS

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["CITY_WIDE", "LOCKED_STAGES", "Timeline", "TimelineEvent", "check_stage"]

CITY_WIDE: Final = frozenset({"blackout", "water", "price", "rain"})
"""Commands that change the whole town (utilities, prices, weather)."""
LOCKED_STAGES: Final = frozenset({"M0", "M1", "M2"})
"""Curriculum stages in which city-wide events are locked out."""
_NOT_SCRIPTABLE: Final = frozenset({"status", "agent", "snapshot", "possess", "control"})


class TimelineEvent(ConfigModel):
    """One console command applied at the start of tick ``at``."""

    at: int = Field(ge=0, description="Tick at whose start the command applies (≥ 0).")
    command: str = Field(min_length=1, description="Console command name (docs/console.md).")
    args: dict[str, Any] = Field(
        default_factory=dict, description="The command's arguments by name."
    )

    @model_validator(mode="after")
    def _known_command(self) -> TimelineEvent:
        command = COMMANDS.get(self.command)
        if command is None or self.command in _NOT_SCRIPTABLE:
            usable = sorted(set(COMMANDS) - _NOT_SCRIPTABLE)
            guess = nearest(self.command, usable)
            hint = f" Did you mean {guess!r}?" if guess else ""
            raise ValueError(
                f"{self.command!r} cannot be scripted.{hint} Timeline commands: {', '.join(usable)}"
            )
        try:
            command.args.model_validate(self.args)
        except ValidationError as exc:
            detail = format_validation_error(exc, model=command.args, prefix=("args",))
            raise ValueError(f"bad arguments for {self.command}: {detail}") from None
        return self


def check_stage(timeline: Sequence[TimelineEvent], curriculum: str) -> None:
    """Raise ValueError when a timeline schedules a city-wide event in a locked stage."""
    if curriculum not in LOCKED_STAGES:
        return
    city = [f"{e.command} at {e.at}" for e in timeline if e.command in CITY_WIDE]
    if city:
        raise ValueError(
            f"curriculum stage {curriculum} locks out city-wide events, but the timeline "
            f"schedules {', '.join(city)}"
        )


class Timeline:
    """Runs a config's timeline events on one world, through a console bus.

    ``audit_log``: where accepted events are appended (None: not written).
    :attr:`applied` keeps every event's result in order.
    """

    def __init__(self, events: Sequence[TimelineEvent], audit_log: Path | None = None) -> None:
        self.events = tuple(sorted(events, key=lambda e: e.at))
        self._token = secrets.token_hex(16)
        self.bus = ConsoleBus(admin_tokens=[self._token], audit_log=audit_log)
        self.applied: list[tuple[TimelineEvent, Result]] = []
        self._serial = 0

    @property
    def audit_log(self) -> Path | None:
        """Audit log file of the timeline's bus."""
        return self.bus.audit_log

    @audit_log.setter
    def audit_log(self, path: Path | None) -> None:
        self.bus.audit_log = path

    def due(self, tick: int) -> list[TimelineEvent]:
        """Events scheduled for ``tick``, in timeline order."""
        return [e for e in self.events if e.at == tick]

    def apply_due(self, world: World) -> list[Result]:
        """Run the events due at ``world.tick``; returns their results."""
        results = []
        for event in self.due(world.tick):
            self._serial += 1  # ids stay unique when a restored world replays a tick
            request = {
                "cmd_id": f"{world.config_id}/timeline-{self._serial}@{event.at}",
                "token": self._token,
                "command": event.command,
                "args": dict(event.args),
            }
            result = self.bus.execute(world, request)
            world.record(
                "scripted",
                None,
                command=event.command,
                args=dict(event.args),
                ok=result.ok,
                code=result.code,
            )
            self.applied.append((event, result))
            results.append(result)
        return results
