"""The services a training context offers: rollout capture, replay, evaluation, promotion.

Capture and evaluation are imported and built on first use, so a strategy
pays only for what it touches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from townlet.core.config.models import TownletConfig
from townlet.core.errors import TownletError
from townlet.core.observations.spec import ObservationSpec
from townlet.core.registry import Registry
from townlet.core.training.replay import ReplayDataset

if TYPE_CHECKING:
    from townlet.core.training.capture import RolloutCapture
    from townlet.core.training.dto import EvaluationReport

__all__ = ["PromotionUnavailable", "ReplayService", "TrainingServices"]


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


class PromotionUnavailable:
    """Stands in for the promotion service, which is not built yet: every call raises."""

    def __getattr__(self, name: str) -> NoReturn:
        raise TownletError(
            "policy promotion (candidate vs release on fixed-seed evaluations) is not "
            "available yet: it arrives with the BC and anneal strategies"
        )


class TrainingServices:
    """The services bundle of a :class:`~townlet.core.training.context.TrainingContext`.

    - :attr:`capture`: the rollout capture service bound to the config;
    - :attr:`replay`: a :class:`ReplayService` for the configured replay data;
    - :attr:`evaluation`: ``evaluate(policy, policy_params, *, episodes, seed,
      towns=None, ticks=None) -> EvaluationReport`` on the config;
    - :attr:`promotion`: not available yet (raises a clear error when used).
    """

    def __init__(self, config: TownletConfig, registry: Registry, spec: ObservationSpec) -> None:
        self.config = config
        self.registry = registry
        self.replay = ReplayService(config, spec)
        self.promotion: Any = PromotionUnavailable()

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
