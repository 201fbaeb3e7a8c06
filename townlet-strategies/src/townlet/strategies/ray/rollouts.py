"""PPO rollouts on Ray actors: the driver's side.

:class:`RayRollouts` owns ``training.ray.num_workers`` rollout workers
(:class:`~townlet.strategies.ray.worker.RolloutWorker` actors, each with
``towns_per_worker`` towns and a CPU copy of the policy). Once per epoch
:class:`RayCollector` puts the learner's weights in the object store once,
asks every worker for ``rollout_ticks`` ticks, and joins the numpy batches
in worker order into one :class:`~townlet.strategies._buffer.Transitions`,
which ``ppo`` learns from exactly as from its local collector.

Reproducibility: worker ``w`` steps global towns ``w·k … w·k + k − 1``
(town ``g`` on world seed ``seed + g``, as locally) and samples options from
its own stream seeded by ``(seed, w)``; batches are joined in worker order.
So a run is repeated exactly by the same seed, ``num_workers`` and
``towns_per_worker`` — but not by another worker count, and not by the local
backend (one sampling stream for every town).

Faults: actors are created with ``max_restarts``. A worker that dies (its
process killed, its node lost) is replaced — restarted by Ray or created
anew — and started on fresh seeds derived from ``(seed, w, restarts)``; its
whole share of the epoch is collected again with the same weights, so no
epoch trains on a short or duplicated batch. The replacement is counted in
the epoch record (``worker_restarts``) and logged; the towns of a replaced
worker start new episodes, so a run with restarts is not bit-repeatable.
An exception inside a worker's env fails the run with
:class:`~townlet.strategies.ray.errors.RolloutWorkerError` naming the worker
and carrying the original traceback.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import ray
from ray.exceptions import RayActorError, RayTaskError

from townlet.core.errors import TownletError
from townlet.core.ports import TrainingContext
from townlet.strategies._buffer import Transitions
from townlet.strategies.network import ActorCritic
from townlet.strategies.ppo import _horizon, resumed_episode
from townlet.strategies.ray.errors import RolloutWorkerError, WorkerNotStarted, worker_failure
from townlet.strategies.ray.session import ray_session
from townlet.strategies.ray.worker import RolloutWorker, WorkerBatch

__all__ = ["RayCollector", "RayRollouts", "join_batches"]

log = logging.getLogger(__name__)


def _seed(*words: int) -> int:
    """A 31-bit seed derived from ``words`` (numpy's SeedSequence)."""
    return int(np.random.SeedSequence(list(words)).generate_state(1)[0] >> 1)


class RayRollouts:
    """The rollout workers of one training run (see the module docstring).

    Build it with :meth:`session`, which also joins Ray and stops the workers
    however the run ends.
    """

    def __init__(self, context: TrainingContext, params: Any) -> None:
        settings = context.settings
        if settings.mode == "replay":
            raise TownletError(
                "training.backend: ray distributes rollouts, and training.mode: replay has none; "
                "use training.backend: local for replay training"
            )
        ray_cfg = settings.ray
        self.context = context
        self.params = params
        self.num_workers = ray_cfg.num_workers
        self.towns_per_worker = ray_cfg.towns_per_worker or math.ceil(
            settings.towns / ray_cfg.num_workers
        )
        self.towns = self.num_workers * self.towns_per_worker
        """Towns over all workers (what a local run would set as ``training.towns``)."""
        self.max_restarts = ray_cfg.max_restarts
        need = self.num_workers * ray_cfg.cpus_per_worker
        have = float(ray.cluster_resources().get("CPU", 0.0))  # type: ignore[no-untyped-call]
        if need > have:  # the workers that do not fit would wait for CPUs forever
            message = (
                f"training.ray: {self.num_workers} workers x {ray_cfg.cpus_per_worker} CPUs "
                f"need {need:g} CPUs, the Ray cluster has {have:g}; lower "
                "training.ray.num_workers or training.ray.cpus_per_worker"
            )
            if not ray_cfg.address:  # a local runtime does not grow
                raise TownletError(message)
            log.warning("%s (waiting for the cluster to grow)", message)
        self._actor: Any = ray.remote(RolloutWorker).options(
            num_cpus=ray_cfg.cpus_per_worker,
            max_restarts=ray_cfg.max_restarts,
            max_task_retries=0,  # a lost share is collected again here, counted
        )
        self.actors: list[Any] = []
        self.restarts = [0] * self.num_workers
        """Replacements of each worker so far."""

    @classmethod
    @contextmanager
    def session(cls, context: TrainingContext, params: Any) -> Iterator[RayRollouts]:
        """Join Ray (``training.ray.address``) and yield the rollouts; the workers are
        stopped, and a runtime started here shut down, when the block ends."""
        with ray_session(context.settings.ray):
            rollouts = cls(context, params)
            try:
                yield rollouts
            finally:
                rollouts.close()

    def towns_of(self, worker: int) -> str:
        """``"towns A..B"`` of ``worker`` (global town indices), for messages."""
        first = worker * self.towns_per_worker
        return f"towns {first}..{first + self.towns_per_worker - 1}"

    def _spawn(self, worker: int) -> Any:
        p, ctx = self.params, self.context
        return self._actor.remote(
            worker,
            ctx.config,
            towns=self.towns_per_worker,
            horizon=_horizon(ctx),
            n_options=len(ctx.option_names),
            hidden=p.hidden,
            lstm=p.lstm,
            gamma=p.gamma,
            reward_scale=p.reward_scale,
        )

    def _start_args(self, worker: int, episode: int) -> tuple[int, int, int]:
        seed, r = self.context.seed, self.restarts[worker]
        if r == 0:
            return seed, episode, _seed(seed, worker)
        return _seed(seed, worker, r), 0, _seed(seed, worker, r, 1)  # fresh episodes

    def start(self, net: ActorCritic, ticks: int, agent_steps: int) -> RayCollector:
        """Create and start the workers, their towns at the episode a run ``ticks`` ticks
        old has reached (0: a fresh run); returns the collector ``ppo`` steps each epoch."""
        horizon = _horizon(self.context)
        episode = resumed_episode(ticks, horizon)
        self.actors = [self._spawn(w) for w in range(self.num_workers)]
        self._wait(
            {a.start.remote(*self._start_args(w, episode)): w for w, a in enumerate(self.actors)}
        )
        return RayCollector(self, net, agent_steps=agent_steps)

    def _wait(self, pending: dict[Any, int]) -> dict[int, Any]:
        """Results of ``pending`` calls by worker; a worker error becomes a
        :class:`RolloutWorkerError` (its id, its traceback)."""
        out: dict[int, Any] = {}
        for ref, worker in pending.items():
            try:
                out[worker] = ray.get(ref)
            except RayActorError as e:
                raise RolloutWorkerError(
                    f"rollout worker {worker} ({self.towns_of(worker)}) died while starting: {e}"
                ) from None
            except RayTaskError as e:
                raise self._env_error(worker, e) from None
        return out

    def _env_error(self, worker: int, error: RayTaskError) -> RolloutWorkerError:
        return worker_failure(f"rollout worker {worker} ({self.towns_of(worker)})", error)

    def replace(self, worker: int) -> None:
        """Bring ``worker`` back after it died: Ray's restart of it, else a new actor,
        started on fresh seeds. Counts and logs the restart."""
        self.restarts[worker] += 1
        log.warning(
            "rollout worker %d (%s) died; replacing it (restart %d) and collecting its "
            "share of the epoch again",
            worker, self.towns_of(worker), self.restarts[worker],
        )  # fmt: skip
        args = self._start_args(worker, 0)
        try:
            ray.get(self.actors[worker].start.remote(*args))
        except RayActorError:  # out of restarts, or killed for good: a new actor
            ray.kill(self.actors[worker], no_restart=True)
            self.actors[worker] = self._spawn(worker)
            self._wait({self.actors[worker].start.remote(*args): worker})
        except RayTaskError as e:
            raise self._env_error(worker, e) from None

    def close(self) -> None:
        """Stop every worker."""
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []


@dataclass
class RayCollector:
    """Collects each epoch's batch on the workers; what ``ppo`` steps in place of the
    local :class:`~townlet.strategies._rollout.DecisionCollector` (same counters)."""

    rollouts: RayRollouts
    net: ActorCritic
    agent_steps: int = 0
    episode_returns: list[float] = field(default_factory=list)
    conflicts: int = 0
    conflict_intensity: float = 0.0
    restarts_this_epoch: int = 0
    """Workers replaced during the last :meth:`collect` (the epoch record's ``worker_restarts``)."""

    def collect(self, ticks: int) -> Transitions:
        """``ticks`` ticks of every worker's towns with the current weights, joined."""
        pool = self.rollouts
        state = self.net.state_dict()
        weights = ray.put({k: v.detach().cpu().numpy() for k, v in state.items()})
        pending = {a.collect.remote(weights, ticks): w for w, a in enumerate(pool.actors)}
        batches: dict[int, WorkerBatch] = {}
        deaths = [0] * pool.num_workers
        self.restarts_this_epoch = 0
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            worker = pending.pop(ref)
            try:
                batches[worker] = ray.get(ref)
                continue
            except (RayActorError, WorkerNotStarted):  # died now, or since the last epoch
                deaths[worker] += 1
            except RayTaskError as e:
                raise pool._env_error(worker, e) from None
            if deaths[worker] > pool.max_restarts:
                raise RolloutWorkerError(
                    f"rollout worker {worker} ({pool.towns_of(worker)}) died "
                    f"{deaths[worker]} times in one epoch (training.ray.max_restarts="
                    f"{pool.max_restarts}); giving up"
                )
            pool.replace(worker)
            self.restarts_this_epoch += 1
            pending[pool.actors[worker].collect.remote(weights, ticks)] = worker
        ordered = [batches[w] for w in range(pool.num_workers)]
        for b in ordered:
            self.agent_steps += b["agent_steps"]
            self.episode_returns.extend(b["episode_returns"].tolist())
            self.conflicts += b["conflicts"]
            self.conflict_intensity += b["conflict_intensity"]
        return join_batches(ordered)


def join_batches(batches: list[WorkerBatch]) -> Transitions:
    """The workers' transitions end to end, ``next`` links and groups shifted to match
    (a worker's transitions link only among themselves, so GAE runs as on one batch)."""
    cols: dict[str, list[npt.NDArray[Any]]] = {}
    groups: list[int] = []
    offset = 0
    for b in batches:
        for k, v in b["columns"].items():
            if k == "next":
                v = np.where(v >= 0, v + offset, -1)
            cols.setdefault(k, []).append(v)
        groups.extend((b["groups"] + offset).tolist())
        offset += len(b["columns"]["action"])
    joined = {k: np.concatenate(v) for k, v in cols.items()}
    out = Transitions(
        obs={k[4:]: v for k, v in joined.items() if k.startswith("obs.")}, mask=joined["mask"]
    )
    for k, v in joined.items():
        if not k.startswith("obs.") and k != "mask":
            setattr(out, k, v)
    out.size, out.groups = offset, groups
    return out
