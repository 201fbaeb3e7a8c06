"""Weather and utilities, rolled once per sim hour on the events stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from townlet.core.columns import UTILITIES, WEATHERS

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = ["UTILITIES", "WEATHERS", "step_weather"]


def step_weather(world: World) -> None:
    """Change weather and start or end utility faults; update path costs."""
    cfg = world.settings.weather
    tick = world.tick
    rng = world.rng.events
    for u, name in enumerate(UTILITIES) if not world.utility_on.all() else ():
        if (
            not world.utility_on[u]
            and tick >= world.utility_back_at[u]
            and not world.utility_forced[u]
        ):
            world.set_utility(name, True)
    if tick % world.clock.ticks_per_hour:
        return
    if rng.random() < cfg.change_probability:
        choices = [w for w in WEATHERS if w != world.weather]
        world.set_weather(choices[int(rng.integers(len(choices)))])
    for u, (name, p) in enumerate(
        zip(UTILITIES, (cfg.power_fault_probability, cfg.water_fault_probability), strict=True)
    ):
        if world.utility_on[u] and rng.random() < p:
            duration = int(rng.integers(cfg.fault_min_ticks, cfg.fault_max_ticks + 1))
            world.set_utility(name, False, until=tick + duration)
