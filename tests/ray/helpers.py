"""Helpers of the Ray tests: tiny PPO runs on the Ray backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from townlet.core.config import TownletConfig, load_config, parse_override
from townlet.core.training.context import build_context
from townlet.core.training.dto import EpochRecord, TrainingResult
from townlet.core.training.epoch_log import EPOCH_LOG
from townlet.strategies.ppo import PPOParams, PPOStrategy

WORKERS, TOWNS_PER_WORKER, AGENTS, TICKS = 2, 1, 2, 40
PLANNED = WORKERS * TOWNS_PER_WORKER * AGENTS * TICKS
"""Agent-steps of one epoch: every citizen of every town acts every tick."""


def ray_config(*overrides: str) -> TownletConfig:
    """A town of two jobless citizens, trained with 2 workers of 1 town for 40 ticks an epoch."""
    base = (
        f"world.agents={AGENTS}", "world.jobs.jobs=[]", "training.backend=ray",
        f"training.ray.num_workers={WORKERS}", f"training.ray.towns_per_worker={TOWNS_PER_WORKER}",
        f"training.rollout_ticks={TICKS}", "training.epochs=2",
    )  # fmt: skip
    return load_config(overrides=[parse_override(o) for o in (*base, *overrides)]).config


def train(cfg: TownletConfig, out: Path, **params: Any) -> TrainingResult:
    """Prepare and run ``ppo`` on ``cfg`` in ``out``."""
    ctx = build_context(cfg, out, horizon=200)
    strategy = PPOStrategy(PPOParams(**{"num_minibatches": 2, "update_epochs": 2, **params}))
    try:
        strategy.prepare(ctx)
        return strategy.run(ctx)
    finally:
        ctx.close()


def records(run: Path) -> list[EpochRecord]:
    """The run's epoch log."""
    lines = (run / EPOCH_LOG).read_text(encoding="utf-8").splitlines()
    return [EpochRecord.model_validate(json.loads(line)) for line in lines]
