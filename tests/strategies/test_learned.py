"""The ``learned`` policy: drives a town from a checkpoint, batched or town by town."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.strategies.helpers import config, train
from townlet.core.config import load_config, parse_override
from townlet.core.env.vector import VectorTownEnv
from townlet.core.ports import OPTIONS
from townlet.core.registry import Registry
from townlet.core.sim import Simulation
from townlet.core.world.rows import TownRows
from townlet.strategies.learned import LearnedPolicy, LearnedPolicyParams


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ppo") / "run"
    train(config("training.towns=2", "training.rollout_ticks=30", "training.epochs=1"), out)
    return out


def test_registered_and_drives_a_simulation(run: Path) -> None:
    assert Registry().find("policies", "learned").name == "learned"
    cfg = load_config(
        overrides=[
            parse_override("policy.name=learned"),
            parse_override(f"policy.params.checkpoint={run / 'checkpoints' / 'final.pt'}"),
        ]
    ).config
    sim = Simulation(cfg)
    summary = sim.run(150)
    assert summary.ticks == 150
    assert sim.world.kpi.invalid_options == 0  # masked options are never chosen
    policy = sim.policy
    assert isinstance(policy, LearnedPolicy)
    seen = policy.inspect(0)
    assert set(seen["probabilities"]) == set(OPTIONS)
    assert sum(seen["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert np.isfinite(seen["value"])


def test_act_many_equals_act_per_town(run: Path) -> None:
    env = VectorTownEnv(3, config("world.agents=2"))
    env.reset(seed=5)
    for _ in range(20):
        env.step(np.zeros(env.num_rows, np.int64))
    batched = LearnedPolicy(LearnedPolicyParams(checkpoint=run, greedy=True))
    single = LearnedPolicy(LearnedPolicyParams(checkpoint=run, greedy=True))
    together = batched.act_many(TownRows(env.worlds))
    apart = np.concatenate([single.act(w) for w in env.worlds])
    np.testing.assert_array_equal(together, apart)
    masks = np.concatenate([w.action_masks() for w in env.worlds])
    assert masks[np.arange(env.num_rows), together].all()


def test_cli_runs_a_full_day_with_a_checkpoint(run: Path, cli: Any) -> None:
    result = cli(
        "run", "--policy", "learned", "--set", f"policy.params.checkpoint={run}",
        "--days", "1", "--quiet", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ticks"] == 1000 and not summary["interrupted"]
