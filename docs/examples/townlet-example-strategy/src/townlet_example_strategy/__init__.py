"""A minimal third-party training strategy.

It shows the whole plugin contract in one file: a pydantic ``Params`` model,
the declared plugin API version, ``prepare`` and ``run`` returning a frozen
result DTO. Its "training" is a seeded random search over one option-commit
window length; swap in your own algorithm.
"""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from townlet.core.ports import PluginParams, TrainingContext


class MyAlgoParams(PluginParams):
    """Parameters of ``my_algo``."""

    iterations: int = Field(16, ge=1, le=10_000, description="Candidates to try (1..10000).")
    target_window: float = Field(
        15.0, gt=0, description="Commit window (ticks) the toy objective prefers (> 0)."
    )


class MyAlgoResult(BaseModel):
    """What ``my_algo`` returns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    best_window: float
    best_score: float
    iterations: int


class MyAlgo:
    """Random search for a commit window: an example third-party strategy."""

    Params: ClassVar[type[BaseModel]] = MyAlgoParams
    plugin_api_version: ClassVar[str] = "2.0"
    name: ClassVar[str] = "my_algo"
    requires_torch: ClassVar[bool] = False

    def __init__(self, params: MyAlgoParams) -> None:
        self.params = params

    def prepare(self, context: TrainingContext) -> None:
        context.output_dir.mkdir(parents=True, exist_ok=True)

    def run(self, context: TrainingContext) -> MyAlgoResult:
        rng = np.random.default_rng(context.seed)
        candidates = rng.uniform(1.0, 60.0, size=self.params.iterations)
        scores = -np.abs(candidates - self.params.target_window)
        best = int(np.argmax(scores))
        result = MyAlgoResult(
            best_window=float(candidates[best]),
            best_score=float(scores[best]),
            iterations=self.params.iterations,
        )
        (context.output_dir / "my_algo_result.json").write_text(json.dumps(result.model_dump()))
        return result
