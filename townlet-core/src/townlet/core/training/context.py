"""What a training strategy is handed: :class:`TrainingContext` and :func:`build_context`.

The context carries the resolved config, the run directory and everything a
strategy needs to train without knowing how Townlet is wired: a factory for
the config's vector env (built through the one builder, so hook plugins
fire), the encoder's observation spec, the services (rollout capture, replay
datasets, evaluation, promotion), the epoch log, the stop flag and the
progress reporter. ``townlet train`` builds one through the orchestrator;
tests build one with :func:`build_context`::

    ctx = build_context(config, tmp_path / "run")
    env = ctx.make_env(ctx.settings.towns)
    ctx.log_epoch(EpochRecord(epoch=1, ...))

Nothing here imports torch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from townlet.core.columns import OPTIONS
from townlet.core.config.models import TownletConfig, TrainingConfig
from townlet.core.observations.build import build_encoder
from townlet.core.observations.spec import ObservationSpec
from townlet.core.registry import Registry
from townlet.core.telemetry.hub import TelemetryHub
from townlet.core.training.dto import EpochRecord
from townlet.core.training.epoch_log import EpochLogger
from townlet.core.training.services import TrainingServices

if TYPE_CHECKING:
    from townlet.core.env.vector import VectorTownEnv

__all__ = ["DEFAULT_HORIZON", "ProgressCallback", "TrainingContext", "build_context"]

DEFAULT_HORIZON: Final = 1000
"""Episode length in ticks of the envs :meth:`TrainingContext.make_env` builds
(the vector env's default)."""

ProgressCallback = Callable[[int, Mapping[str, float]], None]
"""Receives ``(epoch, metrics by name)`` after each epoch, e.g. to draw a progress bar."""


@dataclass(eq=False)
class TrainingContext:
    """The run a strategy trains in (implements :class:`townlet.core.ports.TrainingContext`).

    Build it with :func:`build_context` (or let the orchestrator do it);
    close it when the run ends (:meth:`close`, or use it as a context manager).
    """

    config: TownletConfig
    """The resolved config of the run (``training.*`` included)."""
    output_dir: Path
    """The run directory (exists): epoch log, result, checkpoints."""
    registry: Registry
    """The registry every plugin of the run is built through."""
    spec: ObservationSpec
    """The observation spec of the config's encoder."""
    services: TrainingServices
    """Rollout capture, replay datasets, evaluation and promotion."""
    device: str = "cpu"
    """Device string for the strategy (``cpu``, ``cuda``, ``cuda:1``…)."""
    horizon: int = DEFAULT_HORIZON
    """Episode length in ticks of the envs :meth:`make_env` builds."""
    resume_from: Path | None = None
    """A previous run directory to continue from (``--resume``); None for a fresh run."""
    hub: TelemetryHub | None = None
    """Started telemetry hub that receives ``training_epoch`` events, if any."""
    ppo_log: Path | None = None
    """Second file the epoch log is appended to (``--ppo-log``)."""
    on_progress: ProgressCallback | None = None
    """Progress reporter (the CLI's progress bar); None reports nothing."""
    option_names: tuple[str, ...] = OPTIONS
    """Option names; action ``i`` is ``option_names[i]``."""
    curriculum_stage: str | None = None
    """The curriculum stage being trained, stamped on every epoch record; None outside one."""
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _logger: EpochLogger | None = field(default=None, repr=False)

    @property
    def settings(self) -> TrainingConfig:
        """The ``training`` section of the config."""
        return self.config.training

    @property
    def seed(self) -> int:
        """Seed of the run (the config's ``seed``, or ``--seed``)."""
        return self.config.seed

    def make_env(
        self, num_towns: int, *, horizon: int | None = None, reward_terms: bool = False
    ) -> VectorTownEnv:
        """A vector env of ``num_towns`` towns of this config, hook plugins attached.

        ``horizon`` defaults to :attr:`horizon`. Reset it with ``env.reset(seed)``.
        """
        from townlet.core.env.vector import VectorTownEnv

        return VectorTownEnv(
            num_towns,
            self.config,
            horizon=self.horizon if horizon is None else horizon,
            reward_terms=reward_terms,
            registry=self.registry,
        )

    def log_epoch(self, record: EpochRecord) -> None:
        """Write one epoch to ``epochs.jsonl`` (and ``--ppo-log``) and publish it as a
        ``training_epoch`` event to the telemetry sinks. Epochs must increase."""
        if self.curriculum_stage is not None:
            record = record.model_copy(update={"curriculum_stage": self.curriculum_stage})
        if self._logger is None:
            self._logger = EpochLogger(
                self.output_dir, extra_path=self.ppo_log, on_record=self._publish
            )
        self._logger.log(record)

    def _publish(self, epoch: int, record: Mapping[str, Any]) -> None:
        if self.hub is not None:
            self.hub.publish_training_epoch(record, tick=epoch)

    def should_stop(self) -> bool:
        """True once a stop was requested (Ctrl-C): finish the epoch, then return."""
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Ask the strategy to stop after its current epoch (safe from a signal handler)."""
        self._stop.set()

    def progress(self, epoch: int, metrics: Mapping[str, float]) -> None:
        """Report an epoch's headline metrics (``charts/sps``, ``charts/return``,
        ``losses/loss``…) to the progress reporter."""
        if self.on_progress is not None:
            self.on_progress(epoch, metrics)

    @property
    def epochs_logged(self) -> int:
        """Epoch records written through :meth:`log_epoch` in this run."""
        return 0 if self._logger is None else self._logger.records

    def close(self) -> None:
        """Close the epoch log (idempotent); the hub is its owner's to stop."""
        if self._logger is not None:
            self._logger.close()

    def __enter__(self) -> TrainingContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def build_context(
    config: TownletConfig,
    output_dir: Path,
    *,
    registry: Registry | None = None,
    device: str = "cpu",
    horizon: int = DEFAULT_HORIZON,
    resume_from: Path | None = None,
    hub: TelemetryHub | None = None,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    curriculum_stage: str | None = None,
) -> TrainingContext:
    """A :class:`TrainingContext` for ``config`` writing to ``output_dir`` (created).

    ``hub`` (started by the caller) receives the ``training_epoch`` events;
    the ``--ppo-log`` file is ``config.training.ppo_log``. Setting ``stop``
    (e.g. from a signal handler) makes :meth:`TrainingContext.should_stop` true;
    ``curriculum_stage`` is stamped on every epoch record.
    """
    registry = registry or Registry()
    output_dir.mkdir(parents=True, exist_ok=True)
    spec = build_encoder(config, registry, {"horizon": horizon}).spec
    return TrainingContext(
        config=config,
        output_dir=output_dir,
        registry=registry,
        spec=spec,
        services=TrainingServices(config, registry, spec),
        device=device,
        horizon=horizon,
        resume_from=resume_from,
        hub=hub,
        ppo_log=config.training.ppo_log,
        on_progress=on_progress,
        curriculum_stage=curriculum_stage,
        _stop=stop or threading.Event(),
    )
