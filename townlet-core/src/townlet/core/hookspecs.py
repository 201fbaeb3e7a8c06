"""Event hooks fired by the simulation.

Implement any of these in a module or class decorated with
:data:`townlet.core.hookimpl` and register it under the ``townlet`` entry-point
group::

    [project.entry-points.townlet]
    my_listener = "my_pkg.listener"

Hooks observe: their return values are ignored and they must not mutate the
world they are shown: ``world`` is the town as a read-only
:class:`~townlet.core.ports.WorldView` (agent columns, agent ids, objects,
map, clock, weather, utilities, prices, this tick's events).
Agent ids are the stable string ids used in telemetry; ``tick`` is the tick
being simulated when the hook fires.
"""

from __future__ import annotations

import pluggy

from townlet.core.ports import WorldView

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("townlet")
hookimpl = pluggy.HookimplMarker("townlet")


# -- tick lifecycle -------------------------------------------------------


@hookspec
def on_tick(world: WorldView, tick: int) -> None:
    """After every system of the tick has run, before telemetry is emitted.

    :param world: the read-only world view.
    :param tick: the tick that just completed.
    """


# -- agent lifecycle ------------------------------------------------------


@hookspec
def on_agent_spawn(world: WorldView, tick: int, agent_id: str, reason: str) -> None:
    """When an agent enters town (initial population or a replacement).

    :param reason: ``initial``, ``replacement`` or ``console``.
    """


@hookspec
def on_agent_exit(world: WorldView, tick: int, agent_id: str, reason: str) -> None:
    """When an agent leaves town for good.

    :param reason: ``collapse``, ``eviction``, ``unemployment``, ``neglect``,
        ``age_out`` or ``console``.
    """


@hookspec
def on_agent_near_death(
    world: WorldView, tick: int, agent_id: str, need: str, deficit: float
) -> None:
    """When an agent's need deficit first enters the collapse danger zone.

    :param need: ``hunger``, ``hygiene`` or ``energy``.
    :param deficit: the deficit (1 − value) that crossed the threshold.
    """


@hookspec
def on_need_threshold(world: WorldView, tick: int, agent_id: str, need: str, value: float) -> None:
    """When a need falls below the configured threshold (once per crossing).

    :param value: the need's value after decay this tick, in [0, 1].
    """


# -- affordances ----------------------------------------------------------


@hookspec
def on_affordance_before(
    world: WorldView, tick: int, agent_id: str, affordance: str, object_id: str
) -> None:
    """When an agent starts an affordance, after its preconditions passed."""


@hookspec
def on_affordance_after(
    world: WorldView, tick: int, agent_id: str, affordance: str, object_id: str
) -> None:
    """When an affordance completes and its effects have been applied."""


@hookspec
def on_affordance_fail(
    world: WorldView, tick: int, agent_id: str, affordance: str, object_id: str, reason: str
) -> None:
    """When an affordance is cut short (utility failure, timeout, interruption).

    :param reason: short machine-readable cause, e.g. ``power_out``.
    """


# -- social ---------------------------------------------------------------


@hookspec
def on_conflict(
    world: WorldView, tick: int, kind: str, agent_id: str, other_id: str, intensity: float
) -> None:
    """When a queue or work conflict happens between two agents.

    :param kind: ``blocked``, ``cut_in``, ``rival_collision``, ``shift_taken``
        or ``ghost_step``.
    :param agent_id: the agent that suffered the conflict.
    :param other_id: the agent that caused it.
    :param intensity: positive severity; grows with queue length.
    """


@hookspec
def on_quit_job(world: WorldView, tick: int, agent_id: str, reason: str) -> None:
    """When an agent loses or leaves its job.

    :param reason: ``rage_quit``, ``fired`` or ``absent``.
    """


# -- town events ----------------------------------------------------------


@hookspec
def on_price_change(world: WorldView, tick: int, item: str, old: float, new: float) -> None:
    """When the price of a shop item changes (restock, perturbation, console)."""


@hookspec
def on_weather_change(world: WorldView, tick: int, old: str, new: str) -> None:
    """When the weather changes between ``sunny``, ``rainy`` and ``cold``."""


@hookspec
def on_power_cut(world: WorldView, tick: int, utility: str, on: bool) -> None:
    """When a utility goes down or comes back.

    :param utility: ``power`` or ``water``.
    :param on: ``False`` when it fails, ``True`` when it is restored.
    """
