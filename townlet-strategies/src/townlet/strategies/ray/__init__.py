"""Townlet on Ray: PPO rollouts on worker actors, parallel evaluation, an RLlib adapter.

Installed with ``pip install 'townlet-strategies[ray]'`` (``[rllib]`` for
:mod:`townlet.strategies.ray.rllib`). ``training.backend: ray`` makes
``ppo`` collect its rollouts on :class:`RayRollouts`' workers, and
``townlet evaluate --backend ray`` runs :func:`evaluate_batches` on them;
townlet-core reaches this package only through
:func:`townlet.core.training.backends.load_ray_backend`. docs/scale-out.md
is the guide.
"""

from __future__ import annotations

from townlet.strategies.ray.errors import RolloutWorkerError
from townlet.strategies.ray.evaluate import evaluate_batches
from townlet.strategies.ray.rollouts import RayCollector, RayRollouts

__all__ = ["RayCollector", "RayRollouts", "RolloutWorkerError", "evaluate_batches"]
