"""Sim time: ticks to days and minutes of the day."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Clock"]

MINUTES_PER_DAY = 1440


@dataclass(frozen=True, slots=True)
class Clock:
    """Maps ticks to sim time; one day is ``ticks_per_day`` ticks."""

    ticks_per_day: int

    @property
    def ticks_per_hour(self) -> int:
        """Ticks in one sim hour (at least 1)."""
        return max(1, self.ticks_per_day // 24)

    def day(self, tick: int) -> int:
        """Day number of ``tick`` (day 0 starts at tick 0, midnight)."""
        return tick // self.ticks_per_day

    def tick_of_day(self, tick: int) -> int:
        """Ticks since the last midnight."""
        return tick % self.ticks_per_day

    def minute_of_day(self, tick: int) -> int:
        """Sim minute of the day, 0..1439."""
        return self.tick_of_day(tick) * MINUTES_PER_DAY // self.ticks_per_day

    def ticks_from_minutes(self, minutes: float) -> int:
        """Ticks spanning ``minutes`` sim minutes (rounded)."""
        return round(minutes * self.ticks_per_day / MINUTES_PER_DAY)

    def tick_of_hhmm(self, hhmm: str) -> int:
        """Tick-of-day of an ``HH:MM`` time."""
        hours, minutes = (int(p) for p in hhmm.split(":"))
        return self.ticks_from_minutes(hours * 60 + minutes)
