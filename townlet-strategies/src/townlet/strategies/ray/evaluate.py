"""``townlet evaluate --backend ray``: the batches of episodes spread over Ray workers.

Each batch of ``towns`` episodes runs in a worker exactly as
:func:`townlet.core.training.evaluate.evaluate_batches` runs it locally (its
own vector env, its fixed seeds), and the outcomes are put back in episode
order, so the report is the local one. ``rewards.normalise`` is refused: its
running statistics carry from batch to batch, which only one process can do.

A batch whose worker process dies is run again once (:data:`TASK_RETRIES`);
an exception raised in a worker, or a worker that died more often than that,
fails the evaluation with a :class:`RolloutWorkerError` naming the worker,
its episodes and the original error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ray

from townlet.core.config.models import TownletConfig
from townlet.core.errors import TownletError
from townlet.core.training.evaluate import EpisodeOutcome
from townlet.core.training.evaluate import evaluate_batches as run_batches
from townlet.strategies.ray.errors import RolloutWorkerError, worker_failure
from townlet.strategies.ray.session import ray_session

__all__ = ["TASK_RETRIES", "evaluate_batches"]

TASK_RETRIES = 1
"""Times Ray reruns a batch whose worker process died before the evaluation fails."""


def evaluate_batches(
    config: TownletConfig,
    policy: str,
    policy_params: Mapping[str, Any] | None,
    *,
    firsts: Sequence[int],
    episodes: int,
    seed: int,
    width: int,
    length: int,
) -> list[EpisodeOutcome]:
    """Outcomes of the batches starting at ``firsts``, run on up to
    ``training.ray.num_workers`` workers; same arguments and result as the local
    :func:`~townlet.core.training.evaluate.evaluate_batches`."""
    if config.rewards.normalise:
        raise TownletError(
            "townlet evaluate --backend ray needs rewards.normalise: false (normalised "
            "rewards depend on every earlier episode); evaluate with --backend local"
        )
    settings = config.training.ray
    workers = min(settings.num_workers, len(firsts))
    shares = [list(firsts[w::workers]) for w in range(workers)]
    with ray_session(settings):
        remote: Any = ray.remote  # its stubs know no keyword-only parameters
        task = remote(run_batches).options(
            num_cpus=settings.cpus_per_worker, max_retries=TASK_RETRIES
        )
        refs = [
            task.remote(
                config, policy, policy_params, firsts=share, episodes=episodes, seed=seed,
                width=width, length=length,
            )
            for share in shares
        ]  # fmt: skip
        by_first: dict[int, list[EpisodeOutcome]] = {}
        for w, (share, ref) in enumerate(zip(shares, refs, strict=True)):
            try:
                outcomes: list[EpisodeOutcome] = ray.get(ref)
            except ray.exceptions.RayTaskError as e:  # raised in the worker
                raise worker_failure(f"evaluation worker {w} (episodes from {share})", e) from None
            except ray.exceptions.RayError as e:  # the worker died, retries spent
                raise RolloutWorkerError(
                    f"evaluation worker {w} (episodes from {share}) was lost after "
                    f"{TASK_RETRIES} retry(ies): {type(e).__name__}: {e}"
                ) from None
            for first in share:  # each batch's kept episodes, in order
                kept = min(width, episodes - first)
                by_first[first], outcomes = outcomes[:kept], outcomes[kept:]
    return [o for first in firsts for o in by_first[first]]
