"""A tiny training strategy for orchestrator and CLI tests, installed with ``make_dist``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

MODULE = "townlet_test_counter"

SOURCE = '''
import json
import os
import signal
from typing import ClassVar

from pydantic import BaseModel, Field

from townlet.core.ports import PluginParams
from townlet.core.training import EpochRecord, TrainingResult


class CounterParams(PluginParams):
    epochs: int = Field(3, ge=1, description="Epochs when training.epochs is unset (>= 1).")
    interrupt_after: int = Field(
        0, ge=0, description="Send this process SIGINT after this epoch (0: never)."
    )


def record(epoch):
    return EpochRecord(
        epoch=epoch, updates=1, transitions=10, loss_policy=0.1, loss_value=0.2,
        loss_entropy=0.3, loss_total=0.4, clip_fraction=0.0, approx_kl=0.0,
        explained_variance=0.0, adv_mean=0.0, adv_std=1.0, grad_norm=0.5, lr=0.001,
        steps_per_sec=100.0, data_mode="rollout",
    )


class Counter:
    """Counts epochs; resumes from its state.json."""

    Params: ClassVar[type[BaseModel]] = CounterParams
    plugin_api_version: ClassVar[str] = "2.1"
    name: ClassVar[str] = "counter"
    requires_torch: ClassVar[bool] = False

    def __init__(self, params):
        self.params = params

    def prepare(self, context):
        self.start = 0
        self.resumed_from = context.resume_from
        if context.resume_from is not None:
            state = json.loads((context.resume_from / "state.json").read_text())
            self.start = state["epoch"]

    def run(self, context):
        epochs = context.settings.epochs or self.params.epochs
        done, stopped, last = self.start, False, None
        for epoch in range(self.start + 1, self.start + epochs + 1):
            last = record(epoch)
            context.log_epoch(last)
            context.progress(
                epoch, {"charts/SPS": 1234.0, "charts/return": -2.5, "losses/loss": 0.4}
            )
            (context.output_dir / "state.json").write_text(json.dumps({"epoch": epoch}))
            done = epoch
            if epoch == self.params.interrupt_after:
                os.kill(os.getpid(), signal.SIGINT)
            if context.should_stop() and epoch < self.start + epochs:
                stopped = True
                break
        return TrainingResult(
            strategy=self.name,
            config_id=context.config.config_id,
            seed=context.seed,
            run_dir=context.output_dir,
            mode=context.settings.mode,
            epochs=done - self.start,
            transitions=10 * (done - self.start),
            seconds=0.0,
            stopped_early=stopped,
            final_metrics={"losses/loss": 0.4, "resumed": float(self.resumed_from is not None)},
            last_epoch=last,
        )
'''


def install(make_dist: Callable[..., Path]) -> Any:
    """Install the ``counter`` strategy as distribution ``townlet-test-counter``."""
    return make_dist(
        "townlet-test-counter",
        entry_points={"townlet.training_strategies": {"counter": f"{MODULE}:Counter"}},
        modules={MODULE: SOURCE},
    )
