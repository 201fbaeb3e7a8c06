"""The plugin ports: what each kind of plugin must provide, and what it is shown.

A plugin is a class registered under one of the entry-point groups in
:mod:`townlet.core.registry`. The registry builds it as ``cls(params)`` where
``params`` is an instance of the class's ``Params`` model (pydantic v2,
``extra="forbid"``; subclass :class:`PluginParams`), after checking that the
class declares a compatible ``plugin_api_version``.

Plugins read the towns through read-only views: :class:`RowsView` (one town
or a vector env's towns, agent slots end to end as rows) with its
:class:`AgentColumns`, :class:`WorldView` (one town, for hooks) and
:class:`RewardContextView` (what a reward stage sees), plus named column
constants (:data:`HUNGER`, :data:`RAW_FOOD`, :data:`POWER`, …). Optional
capabilities (:class:`BatchPolicy`, :class:`TaggedStage`, the sink extras)
are small protocols of their own, checked with ``isinstance``.

The protocols are structural: a plugin never needs to import or subclass
anything from here, although importing them for type checking is encouraged.
This module imports nothing of the simulation.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from townlet.core.columns import (
    AMBITION,
    CLEAN_CLOTHES,
    ENERGY,
    EXTROVERSION,
    FORGIVENESS,
    HUNGER,
    HYGIENE,
    ITEMS,
    MEAL,
    MILLS,
    NEEDS,
    OBJECT_TYPES,
    OPTION_ACTIVE,
    OPTION_DONE,
    OPTION_FAILED,
    OPTIONS,
    POWER,
    RAW_FOOD,
    SHIFT_STATES,
    TIES,
    TRAITS,
    UTILITIES,
    WATER,
    WEATHERS,
    WORK,
    AgentColumns,
    ObjectColumns,
    X,
    Y,
)
from townlet.core.views import (
    AffordancesView,
    ClockView,
    EconomyView,
    PathFieldsView,
    RowsView,
    RunConfigView,
    TownMapView,
    WorldView,
)

if TYPE_CHECKING:
    from townlet.core.observations.spec import ObservationSpec
    from townlet.core.training.dto import EpochRecord

__all__ = [
    "AMBITION",
    "CLEAN_CLOTHES",
    "ENERGY",
    "EXTROVERSION",
    "FORGIVENESS",
    "HUNGER",
    "HYGIENE",
    "ITEMS",
    "MEAL",
    "MILLS",
    "NEEDS",
    "OBJECT_TYPES",
    "OPTIONS",
    "OPTION_ACTIVE",
    "OPTION_DONE",
    "OPTION_FAILED",
    "PLUGIN_API_VERSION",
    "POWER",
    "RAW_FOOD",
    "SHIFT_STATES",
    "TIES",
    "TRAITS",
    "UTILITIES",
    "WATER",
    "WEATHERS",
    "WORK",
    "AffordancesView",
    "AgentColumns",
    "BatchPolicy",
    "BatchingSink",
    "ClockView",
    "EconomyView",
    "FlushingSink",
    "HealthReportingSink",
    "ObjectColumns",
    "ObservationEncoder",
    "PathFieldsView",
    "Plugin",
    "PluginParams",
    "Policy",
    "RewardContextView",
    "RewardStage",
    "RowsSnapshot",
    "RowsView",
    "RunConfigView",
    "Scenario",
    "ScoredPolicy",
    "TaggedStage",
    "TelemetryEvent",
    "TelemetrySink",
    "TickFactsView",
    "TownMapView",
    "TrainingContext",
    "TrainingStrategy",
    "TransportHealth",
    "WorldBoundSink",
    "WorldSource",
    "WorldView",
    "X",
    "Y",
]

PLUGIN_API_VERSION = "2.1"
"""Version of this contract. Plugins declare the version they were built for;
the registry refuses a plugin whose major version differs. 2.0: encoders
encode a :class:`RowsView` (one town or many) instead of a world. 2.1: the
:class:`TrainingContext` carries the config, env factory, spec, services,
epoch log, stop flag and progress reporter."""


class PluginParams(BaseModel):
    """Base of a plugin's ``Params`` model: unknown keys are refused and instances
    are frozen. Give every field a ``Field(description=...)`` stating its bounds;
    ``townlet plugins show NAME`` prints them."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@runtime_checkable
class Plugin(Protocol):
    """Members every plugin class carries, whatever its port."""

    Params: ClassVar[type[BaseModel]]
    """Pydantic model of the plugin's parameters (``extra="forbid"``, frozen):
    best a :class:`PluginParams` subclass. Its field descriptions are shown by
    ``townlet plugins show``."""

    plugin_api_version: ClassVar[str]
    """The :data:`PLUGIN_API_VERSION` the plugin was written against."""


# -- observation encoders ------------------------------------------------------


@runtime_checkable
class ObservationEncoder(Plugin, Protocol):
    """Turns the towns into per-row observation arrays.

    Built-ins: ``full``, ``hybrid`` (the default) and ``compact`` in
    :mod:`townlet.core.observations.encoders`.
    """

    @property
    def spec(self) -> ObservationSpec:
        """The layout :meth:`encode` produces: components, shapes, dtypes, named
        features with bounds, a version and a stable hash. Constant for the
        encoder's lifetime; implement it as a property on the class."""
        ...

    def encode(
        self,
        rows: RowsView,
        out: MutableMapping[str, npt.NDArray[Any]] | None = None,
    ) -> Mapping[str, npt.NDArray[Any]]:
        """Encode every row of ``rows`` (one town, or a vector env's towns end to
        end) in one call.

        Returns one contiguous array per spec component whose first axis is
        the row (rows of empty slots are zeros). When ``out`` is given
        (preallocated arrays, e.g. slices of a batch buffer) the values are
        written into it and it is returned. Must not mutate the towns.
        """
        ...


# -- reward stages ---------------------------------------------------------------


class RowsSnapshot(Protocol):
    """Per-row state copied at the end of the previous tick (or at reset)."""

    @property
    def ids(self) -> Sequence[str]:
        """``[N]`` agent id of each row then (``""`` when empty)."""
        ...

    @property
    def alive(self) -> npt.NDArray[np.bool_]:
        """``[N]`` bool: alive then."""
        ...

    @property
    def needs(self) -> npt.NDArray[np.float32]:
        """``[N, 3]`` float32 needs then."""
        ...

    @property
    def present_ticks(self) -> npt.NDArray[np.int64]:
        """``[N]`` int64 ``agents.present_ticks`` then."""
        ...

    @property
    def shift_state(self) -> npt.NDArray[np.int8]:
        """``[N]`` int8 ``agents.shift_state`` then."""
        ...


class TickFactsView(Protocol):
    """Facts of the tick just simulated, derived once for every stage (arrays over rows)."""

    @property
    def before(self) -> RowsSnapshot:
        """State at the end of the previous tick (or at reset)."""
        ...

    @property
    def acted(self) -> npt.NDArray[np.bool_]:
        """``[N]``: the row's agent was alive before the tick (it is rewarded)."""
        ...

    @property
    def alive(self) -> npt.NDArray[np.bool_]:
        """``[N]``: alive after the tick."""
        ...

    @property
    def exited(self) -> npt.NDArray[np.bool_]:
        """``[N]``: the agent left town during the tick."""
        ...

    @property
    def spawned(self) -> npt.NDArray[np.bool_]:
        """``[N]``: a newcomer arrived in the slot during the tick."""
        ...

    @property
    def fresh(self) -> npt.NDArray[np.bool_]:
        """``[N]``: the row's town began a new episode just before this tick; a stage
        keeping per-row state starts these rows afresh."""
        ...

    @property
    def stayed(self) -> npt.NDArray[np.bool_]:
        """``[N]``: ``acted & ~exited``."""
        ...

    @property
    def exit_reasons(self) -> Mapping[int, str]:
        """Row → exit reason (``collapse``, ``eviction``, …; ``unknown`` if not logged)."""
        ...

    @property
    def events(self) -> Mapping[str, Sequence[tuple[int, Mapping[str, Any]]]]:
        """This tick's events by kind, as ``(row of its agent or -1, event)``."""
        ...

    @property
    def deficit(self) -> npt.NDArray[np.float32]:
        """``[N, 3]`` float32 need deficits (1 − value) after the tick."""
        ...

    @property
    def deficit_before(self) -> npt.NDArray[np.float32]:
        """``[N, 3]`` float32 need deficits before the tick."""
        ...

    @property
    def worst_deficit(self) -> npt.NDArray[np.float32]:
        """``[N]`` float32 largest need deficit of each row after the tick."""
        ...

    def of_kind(self, kind: str) -> Sequence[tuple[int, Mapping[str, Any]]]:
        """Events of one kind (empty when none)."""
        ...


class RewardContextView(Protocol):
    """What a reward stage's ``compute`` reads (never writes)."""

    @property
    def towns(self) -> RowsView:
        """The town(s) rewarded as rows: ``towns.agents.needs`` is ``[N, 3]``."""
        ...

    @property
    def facts(self) -> TickFactsView:
        """Facts of the tick just simulated."""
        ...

    @property
    def total(self) -> npt.NDArray[np.float32]:
        """``[N]`` sum of the contributions of the stages before this one (read-only)."""
        ...

    @property
    def breakdown(self) -> Mapping[str, npt.NDArray[np.float32]]:
        """``[N]`` contribution of each earlier stage, by label."""
        ...

    @property
    def tags(self) -> Mapping[str, frozenset[str]]:
        """Tags of each earlier stage, by label."""
        ...

    @property
    def n(self) -> int:
        """Rows ``N``."""
        ...

    def tagged(self, tag: str) -> npt.NDArray[np.float32]:
        """``[N]`` sum so far of the stages carrying ``tag`` (read-only)."""
        ...


@runtime_checkable
class RewardStage(Plugin, Protocol):
    """One named term (or guardrail) of the reward pipeline.

    Stages run in the configured order; each returns its per-row
    contribution, which the pipeline adds to the running total and records in
    the per-stage breakdown. A *guardrail* is a stage whose contribution
    corrects the total so far (e.g. clipping). Built-ins live in
    :mod:`townlet.core.rewards` (they subclass
    :class:`~townlet.core.rewards.RewardStageBase`; a plugin need not).

    The pipeline rewards one town or all the towns of a vector env at once,
    their agent slots end to end as *rows*; a stage sees only rows. A stage
    that keeps per-row state sizes it to ``ctx.n`` and starts afresh the rows
    flagged in ``ctx.facts.fresh`` (their town began a new episode) and
    ``ctx.facts.spawned`` (a newcomer took the slot).
    """

    def compute(self, ctx: RewardContextView) -> npt.NDArray[np.float32]:
        """Return this stage's ``[N]`` contribution for the tick just simulated.

        Must not mutate ``ctx`` or the towns; may update the stage's own state.
        """
        ...


@runtime_checkable
class TaggedStage(Protocol):
    """Optional: a reward stage that carries tags (``social``: switched off by the
    deficit-floor guardrail; ``terminal``: exempt from the per-tick clip)."""

    tags: ClassVar[frozenset[str]]
    """The stage's tags."""


# -- policies -------------------------------------------------------------------------


@runtime_checkable
class Policy(Plugin, Protocol):
    """Chooses an option for every agent each tick."""

    def reset(self, world: WorldView, rng: np.random.Generator) -> None:
        """Forget per-episode state; ``rng`` is the policy RNG stream."""
        ...

    def act(self, world: WorldView) -> npt.NDArray[np.int64]:
        """Return one option id (index into :data:`OPTIONS`) per agent slot
        (ignored for empty slots)."""
        ...


@runtime_checkable
class BatchPolicy(Protocol):
    """Optional: a policy that decides for many towns in one call."""

    def act_many(self, rows: RowsView) -> npt.NDArray[np.int64]:
        """One option id per row; equal to :meth:`Policy.act` of each town, concatenated."""
        ...


@runtime_checkable
class ScoredPolicy(Protocol):
    """Optional: a policy that also reports how it scored its choice (rollout
    capture records both; a learned policy has them, a rule-based one does not)."""

    def act_scored(
        self, rows: RowsView
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """``(options, values, logprobs)``, one per row: the options as
        :meth:`BatchPolicy.act_many`, the value estimate of each row's state and
        the log-probability of the chosen option."""
        ...


# -- telemetry sinks ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One typed message for telemetry sinks."""

    kind: str
    """``world_snapshot``, ``world_diff``, ``metric``, ``narration``,
    ``training_epoch`` or ``health``."""
    tick: int
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransportHealth:
    """Returned by a sink's optional ``health()`` method.

    The hub calls ``health()`` (when a sink has one, see
    :class:`HealthReportingSink`) to fill the transport fields of the sink's
    :class:`~townlet.core.telemetry.SinkHealth`; a sink without it counts as
    connected while it runs.
    """

    connected: bool
    """Whether the transport can deliver right now (socket open, file open, server up)."""
    last_error: str | None = None
    """The latest transport error, even one the sink recovered from."""
    detail: Mapping[str, Any] = field(default_factory=dict)
    """Small JSON-able extras: address, clients, reconnects, current file, ..."""


@runtime_checkable
class WorldSource(Protocol):
    """The whole world, for a sink whose consumer has no base to apply diffs to (a
    new client mid-stream); see :mod:`townlet.core.telemetry.world_source`."""

    def observe(self, event: TelemetryEvent) -> None:
        """Note one message the sink handled, in stream order (non-world ones are ignored)."""
        ...

    def snapshot_now(self) -> Mapping[str, Any] | None:
        """The ``world_snapshot`` payload as of the last observed world message, or None
        if it cannot be had without waiting (then :meth:`request_snapshot`)."""
        ...

    def latest(self) -> Mapping[str, Any] | None:
        """The freshest ``world_snapshot`` payload known, or None before any."""
        ...

    def request_snapshot(self) -> None:
        """Ask for the next world message to be a full snapshot."""
        ...


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
class BatchingSink(Protocol):
    """Optional: a sink that takes a batch of queued events in one call (used
    instead of ``emit`` when present)."""

    def emit_batch(self, events: Sequence[TelemetryEvent]) -> int | None:
        """Deliver ``events`` in order; return how many were taken (None: all)."""
        ...


@runtime_checkable
class FlushingSink(Protocol):
    """Optional: a sink that can push out what it buffers without stopping."""

    def flush(self) -> None:
        """Write out buffered data; called when the sink's queue has been idle a moment."""
        ...


@runtime_checkable
class HealthReportingSink(Protocol):
    """Optional: a sink that reports the state of its transport."""

    def health(self) -> TransportHealth:
        """Whether it can deliver now, its last error and small extras."""
        ...


@runtime_checkable
class WorldBoundSink(Protocol):
    """Optional: a sink whose consumers may need the whole world (a snapshot on
    connect); the hub binds a world source before starting it."""

    def bind_world(self, source: WorldSource) -> None:
        """Keep ``source`` for the sink's lifetime."""
        ...


# -- training and scenarios ------------------------------------------------------------


@runtime_checkable
class TrainingContext(Protocol):
    """What the training orchestrator hands a strategy.

    :class:`townlet.core.training.context.TrainingContext` implements it;
    ``build_context(config, output_dir)`` builds one for tests. Members typed
    ``Any`` here are the config, registry, env and services classes, which
    this module must not import (they import it); the concrete class types them.
    """

    @property
    def config(self) -> Any:
        """The resolved :class:`~townlet.core.config.TownletConfig` of the run."""
        ...

    @property
    def settings(self) -> Any:
        """The config's ``training`` section: strategy, params, mode, epochs,
        ``total_steps``, ``rollout_ticks``, ``towns``, replay data, device."""
        ...

    @property
    def seed(self) -> int:
        """Run seed from the config (or ``--seed``)."""
        ...

    @property
    def output_dir(self) -> Path:
        """The run directory (exists): checkpoints, the epoch log, the result."""
        ...

    @property
    def device(self) -> str:
        """Device string for the strategy (``cpu``, ``cuda``…)."""
        ...

    @property
    def registry(self) -> Any:
        """The :class:`~townlet.core.registry.Registry` the run builds plugins through."""
        ...

    @property
    def spec(self) -> ObservationSpec:
        """Observation spec of the config's encoder."""
        ...

    @property
    def option_names(self) -> tuple[str, ...]:
        """Option names; action ``i`` is ``option_names[i]``."""
        ...

    @property
    def services(self) -> Any:
        """``capture`` (rollout capture), ``replay`` (replay datasets of the config),
        ``evaluation`` (fixed-seed evaluation of a policy) and ``promotion``."""
        ...

    @property
    def resume_from(self) -> Path | None:
        """A previous run directory to continue from (``--resume``), or None."""
        ...

    def make_env(self, num_towns: int) -> Any:
        """A :class:`~townlet.core.env.vector.VectorTownEnv` of ``num_towns`` towns
        of the config, built through the one builder (hook plugins fire)."""
        ...

    def log_epoch(self, record: EpochRecord) -> None:
        """Write one :class:`~townlet.core.training.dto.EpochRecord` to the epoch
        log (and ``--ppo-log``) and to the telemetry sinks as ``training_epoch``."""
        ...

    def should_stop(self) -> bool:
        """True once the user asked to stop (Ctrl-C): finish the epoch and return."""
        ...

    def progress(self, epoch: int, metrics: Mapping[str, float]) -> None:
        """Report an epoch's headline metrics (``charts/sps``, ``charts/return``,
        ``losses/loss``) to the progress display."""
        ...


@runtime_checkable
class TrainingStrategy(Plugin, Protocol):
    """A training algorithm (PPO, BC, anneal, or a third party's)."""

    name: ClassVar[str]
    """Short name, equal to the entry-point name it is registered under."""

    requires_torch: ClassVar[bool]
    """Whether the strategy imports torch when run."""

    def prepare(self, context: TrainingContext) -> None:
        """Check inputs and allocate what ``run`` needs; raise on bad input.

        When ``context.resume_from`` is set, load that run's state here."""
        ...

    def run(self, context: TrainingContext) -> BaseModel:
        """Train and return a frozen result DTO (``extra="forbid"``), best a
        :class:`~townlet.core.training.dto.TrainingResult`. Log each epoch with
        ``context.log_epoch``, report it with ``context.progress`` and return
        after the current epoch once ``context.should_stop()``."""
        ...


@runtime_checkable
class Scenario(Plugin, Protocol):
    """A named scenario: a config that extends a base config, with an optional
    ``timeline`` of scripted console commands (docs/scenarios.md)."""

    description: ClassVar[str]
    """One line saying what happens in the scenario."""

    exercises: ClassVar[str]
    """The mechanisms it exercises, e.g. ``queues, fairness``."""

    ticks: ClassVar[int]
    """Ticks a run of the scenario lasts unless told otherwise."""

    def config_path(self) -> Path:
        """Path of the scenario's YAML config file."""
        ...

    def baseline_path(self) -> Path | None:
        """Path of its golden baseline YAML (``townlet scenarios check``); None: none."""
        ...
