"""The services a training context offers: rollout capture, replay, evaluation, promotion.

Capture, evaluation and promotion are imported and built on first use, so a
strategy pays only for what it touches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from townlet.core.config.models import TownletConfig
from townlet.core.errors import TownletError
from townlet.core.observations.spec import ObservationSpec
from townlet.core.registry import Registry
from townlet.core.training.replay import ReplayDataset

if TYPE_CHECKING:
    from townlet.core.training.capture import RolloutCapture
    from townlet.core.training.dto import EvaluationReport
    from townlet.core.training.promotion import PromotionParams, PromotionService

__all__ = ["ReplayService", "TrainingServices"]


class ReplayService:
    """Loads the replay data the config names (``training.replay_samples`` and
    ``training.replay_manifest``), checked against the run's observation spec."""

    def __init__(self, config: TownletConfig, spec: ObservationSpec) -> None:
        self.settings = config.training
        self.spec = spec

    @property
    def configured(self) -> bool:
        """Whether the config names any replay data."""
        return bool(self.settings.replay_samples) or self.settings.replay_manifest is not None

    def load(self, *, streaming: bool = False) -> ReplayDataset:
        """The configured samples as one dataset (a manifest and samples may not be mixed).

        Raises :class:`TownletError` when none are configured, and
        :class:`~townlet.core.training.replay_meta.ReplayError` when a file
        fails its checks.
        """
        samples, manifest = self.settings.replay_samples, self.settings.replay_manifest
        if manifest is not None and samples:
            raise TownletError(
                "give either training.replay_samples (--replay-sample) or "
                "training.replay_manifest (--replay-manifest), not both"
            )
        if manifest is not None:
            return ReplayDataset.from_manifest(manifest, spec=self.spec, streaming=streaming)
        if samples:
            return ReplayDataset.from_paths(samples, spec=self.spec, streaming=streaming)
        raise TownletError(
            "no replay data configured: pass --replay-sample FILE or --replay-manifest DIR "
            "(training.replay_samples / training.replay_manifest)"
        )


class TrainingServices:
    """The services bundle of a :class:`~townlet.core.training.context.TrainingContext`.

    - :attr:`capture`: the rollout capture service bound to the config;
    - :attr:`replay`: a :class:`ReplayService` for the configured replay data;
    - :attr:`evaluation`: ``evaluate(policy, policy_params, *, episodes, seed,
      towns=None, ticks=None) -> EvaluationReport`` on the config;
    - :meth:`promotion`: a promotion service on the config keeping the given history.
    """

    def __init__(self, config: TownletConfig, registry: Registry, spec: ObservationSpec) -> None:
        self.config = config
        self.registry = registry
        self.replay = ReplayService(config, spec)

    @functools.cached_property
    def capture(self) -> RolloutCapture:
        """The rollout capture service (:class:`townlet.core.training.capture.RolloutCapture`)."""
        from townlet.core.training.capture import RolloutCapture

        return RolloutCapture(self.config, registry=self.registry)

    @functools.cached_property
    def evaluation(self) -> Callable[..., EvaluationReport]:
        """:func:`townlet.core.training.evaluate.evaluate` bound to the config and registry."""
        from townlet.core.training.evaluate import evaluate

        return functools.partial(evaluate, self.config, registry=self.registry)

    def promotion(
        self, history: Path | None = None, params: PromotionParams | None = None
    ) -> PromotionService:
        """A :class:`~townlet.core.training.promotion.PromotionService` on the config,
        keeping ``history`` (default: ``promotion/history.jsonl``)."""
        from townlet.core.training.promotion import DEFAULT_HISTORY, PromotionService

        return PromotionService(
            self.config, history or DEFAULT_HISTORY, params=params, registry=self.registry
        )
