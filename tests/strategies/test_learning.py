"""Learning signal: a short PPO run on the one-citizen town beats ``random`` in ``evaluate``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.strategies.helpers import config, train
from townlet.core.training.evaluate import evaluate

HELD_OUT = 100_000
"""Evaluation seeds start here, far from the training seeds (0, 1, …)."""


def test_short_budget_beats_random_on_held_out_seeds(tmp_path: Path) -> None:
    cfg = config("training.towns=16", "training.rollout_ticks=250", "training.epochs=12")
    train(cfg, tmp_path / "run")
    learned = evaluate(
        cfg, "learned", {"checkpoint": str(tmp_path / "run")}, episodes=8, seed=HELD_OUT
    )
    rand = evaluate(cfg, "random", {}, episodes=8, seed=HELD_OUT)
    # paired by seed: every held-out world is run by both policies
    assert learned.mean_return > rand.mean_return
    assert learned.return_ci95[0] > rand.return_ci95[1], (learned, rand)


@pytest.mark.slow
def test_one_citizen_reaches_the_scripted_level(tmp_path: Path) -> None:
    """The acceptance bar: normalised score ≥ 0.9 within 10 minutes (about a minute here)."""
    cfg = config("training.towns=32", "training.rollout_ticks=250", "training.epochs=40")
    train(cfg, tmp_path / "run")
    r = {
        name: evaluate(cfg, name, params, episodes=16, seed=HELD_OUT).mean_return
        for name, params in (
            ("random", {}),
            ("scripted", {}),
            ("learned", {"checkpoint": str(tmp_path / "run")}),
        )
    }
    score = (r["learned"] - r["random"]) / (r["scripted"] - r["random"])
    assert score >= 0.9, r
