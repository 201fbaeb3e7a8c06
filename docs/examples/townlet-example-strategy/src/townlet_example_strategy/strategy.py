"""``my_algo``: the cross-entropy method over a linear option policy.

Each iteration samples ``population`` weight matrices around a mean, lets
candidate ``i`` drive the citizens of town ``i`` of one vector env for
``training.rollout_ticks`` ticks, keeps the best ``elite_frac`` by return
and refits the mean and deviation to them (Rubinstein's cross-entropy
method; de Boer et al., "A Tutorial on the Cross-Entropy Method", 2005).
It needs numpy and townlet-core only.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from townlet.core.env.vector import VectorTownEnv
from townlet.core.observations.encoders import DEFAULT_ENCODER
from townlet.core.ports import PluginParams, TrainingContext
from townlet.core.training import EpochRecord, TrainingResult
from townlet_example_strategy.linear import (
    COMPONENT,
    DEFAULT_FEATURES,
    LinearPolicyFile,
    act,
    feature_indices,
)

POLICY_FILE = "linear_policy.npz"
"""The policy ``my_algo`` saves in its run directory (with ``linear_policy.json``)."""


class MyAlgoParams(PluginParams):
    """Parameters of ``my_algo``."""

    iterations: int = Field(
        10, ge=1, le=10_000, description="Iterations when training.epochs is unset (1..10000)."
    )
    population: int = Field(
        16, ge=2, le=1024, description="Candidates per iteration, one town each (2..1024)."
    )
    elite_frac: float = Field(
        0.25, gt=0, le=1, description="Share of candidates the distribution is refit to (0..1]."
    )
    init_std: float = Field(1.0, gt=0, description="Initial deviation of every weight (> 0).")
    noise: float = Field(
        0.1, ge=0, description="Deviation added after each refit, so the search goes on (≥ 0)."
    )
    features: tuple[str, ...] = Field(
        DEFAULT_FEATURES, min_length=1, description="Prefixes of the scalar features used."
    )
    init_from: Path | None = Field(
        None,
        description="Start from this saved policy (linear_policy.npz or a my_algo run "
        "directory): its weights and deviation (a curriculum's next stage).",
    )


class MyAlgo:
    """The cross-entropy method over a linear option policy: an example third-party strategy."""

    Params: ClassVar[type[BaseModel]] = MyAlgoParams
    plugin_api_version: ClassVar[str] = "2.1"
    name: ClassVar[str] = "my_algo"
    requires_torch: ClassVar[bool] = False

    def __init__(self, params: MyAlgoParams) -> None:
        self.params = params

    def prepare(self, context: TrainingContext) -> None:
        """Pick the feature columns; start from zero weights, the resumed run's or init_from's."""
        self.columns = feature_indices(context.spec, self.params.features)
        shape = (len(self.columns) + 1, len(context.option_names))
        self.mean = np.zeros(shape)
        self.std = np.full(shape, self.params.init_std)
        self.done = 0  # iterations behind us (a resumed run continues the count)
        start = context.resume_from or self.params.init_from
        if start is not None:
            saved = LinearPolicyFile.load(start / POLICY_FILE if start.is_dir() else start)
            if saved.spec_hash != context.spec.hash or saved.weights.shape != shape:
                raise ValueError(f"{start}: saved policy does not fit this run")
            self.mean = saved.weights
            self.std = np.asarray(saved.meta["std"], dtype=np.float64)
            if context.resume_from is not None:
                self.done = int(saved.meta["iteration"])

    def run(self, context: TrainingContext) -> TrainingResult:
        """Iterate: sample, roll out, refit, log, save."""
        p, settings = self.params, context.settings
        pop, ticks = p.population, settings.rollout_ticks
        steps = pop * context.config.world.agents * ticks  # agent-steps per iteration
        if settings.epochs is not None:
            iterations = settings.epochs
        elif settings.total_steps is not None:
            iterations = math.ceil(settings.total_steps / steps)
        else:
            iterations = p.iterations
        n_elite = max(1, round(pop * p.elite_frac))
        rng = np.random.default_rng([context.seed, self.done])
        env = context.make_env(pop)  # town i is candidate i's
        first, last = self.done + 1, self.done + iterations
        started, path, stopped, returns = time.perf_counter(), None, False, np.zeros(pop)
        for epoch in range(first, last + 1):
            t0 = time.perf_counter()
            # sample candidates around the mean and roll them out
            noise = rng.standard_normal((pop, *self.mean.shape))
            thetas = self.mean + self.std * noise
            returns = self._rollout(env, thetas, seed=context.seed + epoch * pop, ticks=ticks)
            # refit the search distribution to the elite
            elite = thetas[np.argsort(returns)[-n_elite:]]
            self.mean = elite.mean(axis=0)
            self.std = elite.std(axis=0) + p.noise
            # log and save
            seconds = time.perf_counter() - t0
            context.log_epoch(_record(epoch, steps, returns, seconds, ticks))
            context.progress(
                epoch,
                {"charts/SPS": steps / seconds, "charts/return": float(returns.mean())},
            )
            path = self._save(context, env, epoch)
            self.done = epoch
            if context.should_stop() and epoch < last:  # Ctrl-C: stop after this iteration
                stopped = True
                break
        return TrainingResult(
            strategy=self.name,
            config_id=context.config.config_id,
            seed=context.seed,
            run_dir=context.output_dir,
            mode="rollout",
            epochs=self.done - first + 1,
            transitions=steps * (self.done - first + 1),
            seconds=time.perf_counter() - started,
            stopped_early=stopped,
            final_metrics={
                "charts/return": float(returns.mean()),
                "charts/best": float(returns.max()),
            },
            checkpoints=() if path is None else (path,),
            policy="my_linear",
        )

    def _rollout(
        self, env: VectorTownEnv, thetas: npt.NDArray[np.float64], *, seed: int, ticks: int
    ) -> npt.NDArray[np.float64]:
        """Each candidate's return per citizen, candidate ``i`` driving town ``i``."""
        obs, info = env.reset(seed)
        town = np.arange(env.num_rows) // env.slots
        totals = np.zeros(env.num_rows)
        for _ in range(ticks):
            x = obs[COMPONENT][:, self.columns]
            actions = act(thetas[town], x, info["action_mask"])
            obs, rewards, _, _, info = env.step(actions)
            totals += rewards
        per_citizen: npt.NDArray[np.float64] = totals.reshape(env.num_towns, env.slots).mean(1)
        return per_citizen

    def _save(self, context: TrainingContext, env: VectorTownEnv, iteration: int) -> Path:
        encoder: Any = env.encoder
        saved = LinearPolicyFile(
            weights=self.mean,
            encoder=context.config.observations.encoder or DEFAULT_ENCODER,
            encoder_params=encoder.params.model_dump(mode="json"),
            spec_hash=context.spec.hash,
            features=tuple(context.spec[COMPONENT].features[i].name for i in self.columns),
            options=tuple(context.option_names),
            meta={
                "iteration": iteration,
                "std": self.std.tolist(),
                "config_id": env.config.config_id,
            },
        )
        return saved.save(context.output_dir / POLICY_FILE)


def _record(
    epoch: int, steps: int, returns: npt.NDArray[np.float64], seconds: float, ticks: int
) -> EpochRecord:
    """The epoch log line: CEM has no gradient, so the optimiser fields are zero and the
    "policy loss" is the negated mean return of the candidates."""
    loss = -float(returns.mean())
    return EpochRecord(
        epoch=epoch,
        updates=1,
        transitions=steps,
        loss_policy=loss,
        loss_value=0.0,
        loss_entropy=0.0,
        loss_total=loss,
        clip_fraction=0.0,
        approx_kl=0.0,
        explained_variance=0.0,
        adv_mean=0.0,
        adv_std=float(returns.std()),
        grad_norm=0.0,
        lr=0.0,
        steps_per_sec=steps / seconds,
        data_mode="rollout",
        epoch_seconds=seconds,
        rollout_ticks=ticks,
    )
