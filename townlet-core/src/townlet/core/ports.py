"""The plugin ports: what each kind of plugin must provide.

A plugin is a class registered under one of the entry-point groups in
:mod:`townlet.core.registry`. The registry builds it as ``cls(params)`` where
``params`` is an instance of the class's ``Params`` model (pydantic v2,
``extra="forbid"``), after checking that the class declares a compatible
``plugin_api_version``.

The protocols are structural: a plugin never needs to import or subclass
anything from here, although importing them for type checking is encouraged.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

if TYPE_CHECKING:
    from townlet.core.observations.spec import ObservationSpec
    from townlet.core.rewards.context import RewardContext

__all__ = [
    "PLUGIN_API_VERSION",
    "ObservationEncoder",
    "Plugin",
    "Policy",
    "RewardStage",
    "Scenario",
    "TelemetryEvent",
    "TelemetrySink",
    "TrainingContext",
    "TrainingStrategy",
    "WorldView",
]

PLUGIN_API_VERSION = "1.0"
"""Version of this contract. Plugins declare the version they were built for;
the registry refuses a plugin whose major version differs."""


@runtime_checkable
class Plugin(Protocol):
    """Members every plugin class carries, whatever its port."""

    Params: ClassVar[type[BaseModel]]
    """Pydantic model of the plugin's parameters (``extra="forbid"``, frozen).
    Its field descriptions are shown by ``townlet plugins show``."""

    plugin_api_version: ClassVar[str]
    """The :data:`PLUGIN_API_VERSION` the plugin was written against."""


@runtime_checkable
class WorldView(Protocol):
    """Read-only view of a running town handed to encoders, stages and policies."""

    @property
    def tick(self) -> int:
        """Ticks simulated since the town started."""
        ...

    @property
    def n_agents(self) -> int:
        """Number of agent slots (living or not) in the state arrays."""
        ...


@runtime_checkable
class ObservationEncoder(Plugin, Protocol):
    """Turns the world into per-agent observation arrays.

    Built-ins: ``full``, ``hybrid`` (the default) and ``compact`` in
    :mod:`townlet.core.observations`.
    """

    @property
    def spec(self) -> ObservationSpec:
        """The layout :meth:`encode` produces: components, shapes, dtypes, named
        features with bounds, a version and a stable hash. Constant for the
        encoder's lifetime; implement it as a property on the class."""
        ...

    def encode(
        self,
        world: WorldView,
        out: MutableMapping[str, npt.NDArray[Any]] | None = None,
    ) -> Mapping[str, npt.NDArray[Any]]:
        """Encode every agent slot of ``world`` in one call.

        Returns one contiguous array per spec component whose first axis is
        the agent slot (rows of empty slots are zeros). When ``out`` is given
        (preallocated arrays, e.g. slices of a batch buffer of many towns) the
        values are written into it and it is returned. Must not mutate the
        world.

        An encoder may also offer ``encode_many(worlds, out=None)``, encoding
        several towns of one geometry with their slots end to end; the vector
        env uses it when present (the built-ins have it) and otherwise calls
        :meth:`encode` once per town.
        """
        ...


@runtime_checkable
class RewardStage(Plugin, Protocol):
    """One named term (or guardrail) of the reward pipeline.

    Stages run in the configured order; each returns its per-agent
    contribution, which the pipeline adds to the running total and records in
    the per-stage breakdown. A *guardrail* is a stage whose contribution
    corrects the total so far (e.g. clipping). A stage may declare a class
    attribute ``tags: frozenset[str]`` (``"social"``: switched off by the
    deficit-floor guardrail; ``"terminal"``: exempt from the per-tick clip).
    Built-ins live in :mod:`townlet.core.rewards`.

    The pipeline rewards one town or all the towns of a vector env at once,
    their agent slots end to end as *rows*; a stage sees only rows. A stage
    that keeps per-row state sizes it to ``ctx.n`` and starts afresh the rows
    flagged in ``ctx.facts.fresh`` (their town began a new episode) and
    ``ctx.facts.spawned`` (a newcomer took the slot).
    """

    def compute(self, ctx: RewardContext) -> npt.NDArray[np.float32]:
        """Return this stage's ``[rows]`` contribution for the tick just simulated.

        ``ctx`` holds the towns as rows (``ctx.towns.agents.needs``), facts
        about the tick (exits, spawns, needs before and after, events by
        row), the running total and the breakdown of earlier stages. Must
        not mutate ``ctx`` or the world; may update the stage's own state.
        """
        ...


@runtime_checkable
class Policy(Plugin, Protocol):
    """Chooses an option for every agent each tick."""

    def reset(self, world: WorldView, rng: np.random.Generator) -> None:
        """Forget per-episode state; ``rng`` is the policy RNG stream."""
        ...

    def act(self, world: WorldView) -> npt.NDArray[np.int64]:
        """Return one option id per agent slot (ignored for empty slots)."""
        ...


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One typed message for telemetry sinks."""

    kind: str
    """``world_snapshot``, ``world_diff``, ``metric``, ``narration``,
    ``training_epoch`` or ``health``."""
    tick: int
    payload: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class TelemetrySink(Plugin, Protocol):
    """Receives telemetry events and delivers them somewhere."""

    def start(self) -> None:
        """Open files, sockets or servers. Called once before the first event."""
        ...

    def emit(self, event: TelemetryEvent) -> None:
        """Accept one event. Must return quickly and never block the town."""
        ...

    def stop(self) -> None:
        """Flush and release resources. Called once; idempotent."""
        ...


@runtime_checkable
class TrainingContext(Protocol):
    """What the training orchestrator hands a strategy."""

    @property
    def seed(self) -> int:
        """Run seed from the config (or ``--seed``)."""
        ...

    @property
    def output_dir(self) -> Path:
        """Directory for checkpoints, logs and results of this run."""
        ...


@runtime_checkable
class TrainingStrategy(Plugin, Protocol):
    """A training algorithm (PPO, BC, anneal, or a third party's)."""

    name: ClassVar[str]
    """Short name, equal to the entry-point name it is registered under."""

    requires_torch: ClassVar[bool]
    """Whether the strategy imports torch when run."""

    def prepare(self, context: TrainingContext) -> None:
        """Check inputs and allocate what ``run`` needs; raise on bad input."""
        ...

    def run(self, context: TrainingContext) -> BaseModel:
        """Train and return a frozen result DTO (``extra="forbid"``)."""
        ...


@runtime_checkable
class Scenario(Plugin, Protocol):
    """A named scenario pack: a config that extends a base config."""

    description: ClassVar[str]
    """One line saying what the scenario exercises."""

    def config_path(self) -> Path:
        """Path of the scenario's YAML config file."""
        ...
