"""Real-time pacing of an observed run: pause, 1×, 10×, 100× and max.

SPEC §3: a watched town ticks every 250 ms at 1×; 10× and 100× divide that,
``max`` does not wait at all and ``pause`` holds the town between ticks.
The tick loop calls :meth:`Pacer.wait` after every tick; observers change the
speed from any thread with :meth:`Pacer.set_speed`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final

__all__ = ["SPEEDS", "TICK_SECONDS", "Pacer", "parse_speed"]

TICK_SECONDS: Final = 0.25
"""Wall-clock seconds per tick at 1×."""

SPEEDS: Final = ("pause", "1", "10", "100", "max")
"""The speeds an observer can choose, slowest first."""


def parse_speed(value: object) -> str:
    """The speed named by ``value`` (``"pause"``, ``1``, ``"10x"``, ``"max"`` ...)."""
    text = str(value).strip().lower()
    if text[-1:] in ("x", "×") and text[:-1].isdigit():
        text = text[:-1]
    if text in SPEEDS:
        return text
    raise ValueError(f"speed {value!r} is not one of: {', '.join(SPEEDS)}")


class Pacer:
    """Holds the observed speed and makes the tick loop keep to it (thread-safe)."""

    def __init__(
        self,
        speed: str = "1",
        *,
        clock: Callable[[], float] = time.monotonic,
        poll_s: float = 0.05,
    ) -> None:
        self._speed = parse_speed(speed)
        self._clock = clock
        self._poll_s = poll_s
        self._changed = threading.Condition()
        self._last: float | None = None
        """When the latest tick was let through (None: pace from the next wait)."""
        self.listeners: list[Callable[[str], None]] = []
        """Called with the new speed after every change (from the changing thread)."""

    @property
    def speed(self) -> str:
        """The current speed (one of :data:`SPEEDS`)."""
        return self._speed

    def set_speed(self, value: object) -> str:
        """Change the speed now; a paused or sleeping tick loop wakes at once."""
        speed = parse_speed(value)
        with self._changed:
            self._speed = speed
            self._last = None  # the new pace starts now, not on the old schedule
            self._changed.notify_all()
        for listener in list(self.listeners):
            listener(speed)
        return speed

    def wait(
        self,
        stopping: Callable[[], bool] = lambda: False,
        idle: Callable[[], None] = lambda: None,
    ) -> None:
        """Block until the next tick is due at the current speed.

        While paused (or waiting), ``idle`` runs every ``poll_s`` seconds (to
        serve console requests) and ``stopping()`` ends the wait early.
        """
        with self._changed:
            while not stopping():
                speed = self._speed
                if speed == "max":
                    self._last = None
                    return
                now = self._clock()
                if speed != "pause":
                    interval = TICK_SECONDS / int(speed)
                    if self._last is None:
                        self._last = now
                    due = self._last + interval
                    if due <= now:
                        # a slow tick does not make the next ones race to catch up
                        self._last = due if due > now - interval else now
                        return
                    timeout = min(self._poll_s, due - now)
                else:
                    self._last = None
                    timeout = self._poll_s
                self._changed.wait(timeout)
                self._changed.release()
                try:
                    idle()
                finally:
                    self._changed.acquire()
