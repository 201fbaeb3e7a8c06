"""Narration: one-line stories of the town's dramatic moments, throttled.

A line is dropped when the global budget for the current sim hour is spent,
when its category spoke less than ``category_cooldown`` ticks ago, or when the
same line was said within ``dedupe_window`` ticks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Final

from townlet.core.world.settings import NarrationConfig

__all__ = ["TEMPLATES", "Narrator"]

TEMPLATES: Final = {
    "late_and_blocked": "{a} is late and {b} is blocking the {where}",
    "first_clash": "{a} and {b} clash for the first time at the {where}",
    "argument": "{a} and {b} argue loudly at the {where}",
    "bonded": "{a} and {b} bonded over a meal at the {where}",
    "left_town": "{a} left town ({reason})",
    "new_arrival": "{a} arrived in town",
    "fainted": "{a} fainted from exhaustion",
    "blackout": "The power is out across town",
    "water_outage": "The water is off across town",
    "price_spike": "The price of {item} jumps to {price:.2f}",
    "closure": "The {where} is closed today",
    "arranged_meet": "{a} and {b} have been asked to meet at the cafe",
}


class Narrator:
    """Turns moments into throttled lines; ``lines`` holds this tick's output."""

    def __init__(self, config: NarrationConfig, ticks_per_hour: int) -> None:
        self.config = config
        self.ticks_per_hour = ticks_per_hour
        self.lines: list[dict[str, Any]] = []
        self.said = 0
        self.dropped = 0
        self._last_category: dict[str, int] = {}
        self._recent: deque[tuple[int, str]] = deque()
        self._hour = -1
        self._hour_count = 0

    def state_dict(self) -> dict[str, Any]:
        """Counters and the throttles' memory, JSON-able (not this tick's ``lines``)."""
        return {
            "said": self.said,
            "dropped": self.dropped,
            "last_category": dict(self._last_category),
            "recent": [list(r) for r in self._recent],
            "hour": self._hour,
            "hour_count": self._hour_count,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output; this tick's ``lines`` start empty."""
        self.said, self.dropped = state["said"], state["dropped"]
        self._hour, self._hour_count = state["hour"], state["hour_count"]
        self._last_category = dict(state["last_category"])
        self._recent = deque((int(t), str(text)) for t, text in state["recent"])
        self.lines = []

    def begin_tick(self) -> None:
        """Forget the previous tick's lines."""
        self.lines = []

    def say(
        self, tick: int, category: str, names: list[str], ids: list[str], **fields: Any
    ) -> bool:
        """Narrate if the throttles allow; return whether the line was kept."""
        cfg = self.config
        hour = tick // self.ticks_per_hour
        if hour != self._hour:
            self._hour, self._hour_count = hour, 0
        values = dict(fields)
        if names:
            values["a"] = names[0]
        if len(names) > 1:
            values["b"] = names[1]
        text = TEMPLATES[category].format(**values)
        while self._recent and self._recent[0][0] <= tick - cfg.dedupe_window:
            self._recent.popleft()
        last = self._last_category.get(category)
        if (
            self._hour_count >= cfg.max_per_hour
            or (last is not None and tick - last < cfg.category_cooldown)
            or any(line == text for _, line in self._recent)
        ):
            self.dropped += 1
            return False
        self._hour_count += 1
        self._last_category[category] = tick
        self._recent.append((tick, text))
        self.said += 1
        self.lines.append({"category": category, "text": text, "agents": ids})
        return True
