"""The fixed-slot view with exits forced through the console bus (needs pettingzoo)."""

from __future__ import annotations

from typing import Any

from tests.env.helpers import ConsoleExits
from townlet.core.env import SlotParallelEnv

SCHEDULE = {10: 1, 40: 5, 75: 1}
"""World tick → slot whose citizen the console removes then (slot 1 twice: its newcomer)."""


class DisruptedSlots(SlotParallelEnv):
    """:class:`SlotParallelEnv` whose console removes a citizen at the ticks of ``schedule``
    (before the step that starts at that tick), every episode."""

    def __init__(self, *args: Any, schedule: dict[int, int] = SCHEDULE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exits = ConsoleExits(schedule)

    def step(self, actions: Any) -> Any:
        world = self.town.world
        if world is not None and not self._finished:
            self.exits(world)
        return super().step(actions)
