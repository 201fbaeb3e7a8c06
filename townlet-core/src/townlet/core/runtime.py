"""One builder for everything a config wires: hook plugins, worlds, encoder, rewards, telemetry.

:func:`build_runtime` turns a resolved config and a :class:`Registry` into a
:class:`Runtime`. ``townlet run`` (:class:`~townlet.core.sim.Simulation`),
every environment form and training build their towns through it, so an
installed hook plugin fires the same way in all of them::

    rt = build_runtime(config, registry, towns=8, encoder=True, rewards=True)
    worlds = rt.worlds([seed + t for t in range(rt.towns)])
    obs = rt.encoder.encode(worlds[0])

What it wires:

- the hook plugin manager: the hookspecs plus every installed ``townlet``
  entry point (:func:`~townlet.core.hooks.make_plugin_manager`); plugins that
  fail to import are skipped and listed in :attr:`Runtime.hook_failures`;
- the agent storage of ``towns`` towns, their slots end to end as rows
  (town ``t`` holds rows ``t·S … t·S + S − 1``, ``S = world.agents``);
  :meth:`Runtime.world` builds a town's world on its rows with the hooks
  attached, so towns built together step, encode and reward as one batch;
- on request: the observation encoder, the reward pipeline (over the rows of
  every town) and the telemetry hub.

A runtime is built once; worlds are built from it as often as needed (an
env's reset builds its town's world again on the same rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from townlet.core.config.models import TownletConfig
from townlet.core.hooks import HookLoadFailure, make_plugin_manager
from townlet.core.observations.build import build_encoder
from townlet.core.ports import ObservationEncoder
from townlet.core.registry import Registry
from townlet.core.rewards.pipeline import RewardPipeline
from townlet.core.telemetry.hub import TelemetryHub
from townlet.core.world.state import AgentArrays
from townlet.core.world.world import World

__all__ = ["Runtime", "build_runtime"]


@dataclass(frozen=True, slots=True)
class Runtime:
    """The parts one config wires (built by :func:`build_runtime`)."""

    config: TownletConfig
    """The resolved config every part was built from."""
    registry: Registry
    """The registry the parts were built through."""
    plugins: pluggy.PluginManager
    """Hookspecs plus the installed hook plugins; every world built here calls them."""
    hook_failures: tuple[HookLoadFailure, ...]
    """Hook plugins that failed to import (skipped; report them to the user)."""
    towns: int
    """Towns laid out in :attr:`agents`."""
    agents: AgentArrays
    """Agent state of every town, their slots end to end as rows."""
    encoder: ObservationEncoder | None
    """The observation encoder ``observations.encoder`` selects (if requested)."""
    rewards: RewardPipeline | None
    """The reward pipeline of ``rewards.stages``, over every town's rows (if requested)."""
    hub: TelemetryHub | None
    """The telemetry hub of ``telemetry.sinks``, not started (if requested)."""

    @property
    def slots(self) -> int:
        """Agent slots per town (``world.agents``)."""
        return self.config.world.agents

    def rows(self, town: int) -> slice:
        """Rows of :attr:`agents` that hold town ``town``."""
        if not 0 <= town < self.towns:
            raise IndexError(f"town {town} out of range (0..{self.towns - 1})")
        return slice(town * self.slots, (town + 1) * self.slots)

    def world(self, town: int = 0, seed: int | None = None) -> World:
        """A fresh world for ``town`` on its rows, with the hook plugins attached.

        ``seed`` replaces the config's seed. Building a town's world again
        clears its rows: the town's previous world must not be used after.
        """
        cfg = self.config if seed is None else self.config.model_copy(update={"seed": int(seed)})
        # one town owns the whole storage; several get views of their rows
        agents = self.agents if self.towns == 1 else self.agents.rows(self.rows(town))
        return World.from_config(cfg, hooks=self.plugins.hook, agents=agents)

    def worlds(self, seeds: Sequence[int] | None = None) -> list[World]:
        """A fresh world for every town (``seeds``: one per town; default: the config's)."""
        if seeds is not None and len(seeds) != self.towns:
            raise ValueError(f"{len(seeds)} seeds given for {self.towns} towns")
        return [self.world(t, None if seeds is None else seeds[t]) for t in range(self.towns)]


def build_runtime(
    config: TownletConfig,
    registry: Registry | None = None,
    *,
    towns: int = 1,
    encoder: bool = False,
    encoder_defaults: Mapping[str, Any] | None = None,
    rewards: bool = False,
    telemetry: bool = False,
) -> Runtime:
    """Wire ``config`` through ``registry`` (default: a fresh one) into a :class:`Runtime`.

    ``towns``: how many towns share the agent storage. ``encoder``,
    ``rewards`` and ``telemetry`` build those parts (left None otherwise);
    ``encoder_defaults`` are encoder params applied under the config's own,
    where the encoder has them (an env passes its ``horizon``).
    """
    if towns < 1:
        raise ValueError(f"towns must be >= 1 (got {towns})")
    registry = registry or Registry()
    pm, failures = make_plugin_manager(registry)
    return Runtime(
        config=config,
        registry=registry,
        plugins=pm,
        hook_failures=tuple(failures),
        towns=towns,
        agents=AgentArrays.allocate(towns * config.world.agents),
        encoder=build_encoder(config, registry, encoder_defaults) if encoder else None,
        rewards=RewardPipeline.from_config(config, registry) if rewards else None,
        hub=TelemetryHub.from_config(config.telemetry, registry) if telemetry else None,
    )
