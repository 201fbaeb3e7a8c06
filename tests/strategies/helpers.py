"""Helpers of the PPO tests: one-citizen configs and a quick training run."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from townlet.core.config import TownletConfig, load_config, parse_override
from townlet.core.training.context import build_context
from townlet.core.training.dto import TrainingResult
from townlet.strategies.ppo import PPOParams, PPOStrategy

ONE_CITIZEN = ("world.agents=1", "world.jobs.jobs=[]")
"""A town of one citizen with a home and shops and no job."""


def config(*overrides: str) -> TownletConfig:
    """The one-citizen town with ``--set`` style overrides."""
    return load_config(overrides=[parse_override(o) for o in (*ONE_CITIZEN, *overrides)]).config


def train(
    cfg: TownletConfig,
    out: Path,
    *,
    horizon: int = 1000,
    resume: Path | None = None,
    stop_after: int | None = None,
    **params: Any,
) -> TrainingResult:
    """Prepare and run ``ppo`` on ``cfg`` in ``out``; ``stop_after``: stop after that epoch."""
    stop = threading.Event()

    def progress(epoch: int, _: Mapping[str, float]) -> None:
        if stop_after is not None and epoch >= stop_after:
            stop.set()

    ctx = build_context(
        cfg, out, horizon=horizon, resume_from=resume, on_progress=progress, stop=stop
    )
    strategy = PPOStrategy(PPOParams(**params))
    try:
        strategy.prepare(ctx)
        return strategy.run(ctx)
    finally:
        ctx.close()
