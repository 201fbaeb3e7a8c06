"""``evaluate --backend ray``: the batches of episodes on Ray workers, the local report."""

from __future__ import annotations

from typing import Any

import pytest

from townlet.core.config import load_config, parse_override
from townlet.core.errors import TownletError
from townlet.core.training.evaluate import evaluate


def _config(*overrides: str) -> Any:
    base = ("world.agents=3", "training.ray.num_workers=2")
    return load_config(overrides=[parse_override(o) for o in (*base, *overrides)]).config


def test_ray_evaluation_reports_the_local_numbers(ray_runtime: Any) -> None:
    # 5 episodes, 2 side by side: batches at 0, 2, 4 (the last one cut short) over 2 workers
    cfg = _config()
    args: dict[str, Any] = {"episodes": 5, "seed": 3, "towns": 2, "ticks": 40}
    local = evaluate(cfg, "scripted", **args)
    spread = evaluate(cfg, "scripted", backend="ray", **args)
    assert spread == local
    assert len(set(local.episode_returns)) > 1  # the episodes are different worlds


def test_normalised_rewards_are_refused_with_the_reason(ray_runtime: Any) -> None:
    with pytest.raises(TownletError, match=r"rewards\.normalise"):
        evaluate(_config("rewards.normalise=true"), "scripted", episodes=2, seed=0, ticks=5,
                 backend="ray")  # fmt: skip


def test_a_worker_that_keeps_dying_is_named_with_ray_s_error(
    ray_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from townlet.strategies.ray import evaluate as ray_evaluate

    def die(*args: Any, **kwargs: Any) -> Any:  # a local function: Ray ships it by value
        import os

        os._exit(1)  # the worker process dies, on every try

    monkeypatch.setattr(ray_evaluate, "run_batches", die)
    with pytest.raises(TownletError) as caught:
        evaluate(_config("training.ray.num_workers=1"), "scripted", episodes=2, seed=0, towns=2,
                 ticks=5, backend="ray")  # fmt: skip
    message = str(caught.value)
    assert message.startswith("evaluation worker 0 (episodes from [0]) was lost after 1 retry")
    assert "WorkerCrashedError" in message
