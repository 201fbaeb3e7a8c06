"""Evaluation: paired fixed seeds, per-agent returns, the 95% interval, KPIs, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from townlet.core.config.loader import load_config
from townlet.core.config.models import TownletConfig
from townlet.core.training._rollout import AgentReturns
from townlet.core.training.evaluate import KPI_NAMES, evaluate, mean_ci95


@pytest.fixture(scope="module")
def config() -> TownletConfig:
    return load_config(None).config


def test_report_is_paired_and_reproducible(config: TownletConfig) -> None:
    a = evaluate(config, "random", {}, episodes=3, seed=5, towns=2, ticks=60)
    b = evaluate(config, "random", {}, episodes=3, seed=5, towns=2, ticks=60)
    assert a == b
    assert a.seeds == (5, 6, 7) and a.episodes == 3 and a.ticks == 60
    assert a.agents == 3 * config.world.agents  # nobody arrives or leaves in 60 ticks
    assert set(a.kpis) == set(KPI_NAMES)
    low, high = a.return_ci95
    assert low <= a.mean_return <= high
    assert a.mean_return == pytest.approx(np.mean(a.episode_returns))  # equal agents per episode


def test_scripted_beats_always_wait(config: TownletConfig) -> None:
    kw = {"episodes": 2, "seed": 0, "ticks": 300}
    scripted = evaluate(config, "scripted", {}, **kw)
    wait = evaluate(config, "random", {"options": ["wait"]}, **kw)
    assert scripted.seeds == wait.seeds
    assert scripted.return_ci95[0] > wait.return_ci95[1]
    assert wait.kpis["conflicts"] == 0


def test_episode_seed_fixes_the_world(config: TownletConfig) -> None:
    # always-wait draws nothing, so an episode's return depends on its seed alone
    wait = {"options": ["wait"]}
    together = evaluate(config, "random", wait, episodes=3, seed=2, towns=3, ticks=40)
    apart = evaluate(config, "random", wait, episodes=3, seed=2, towns=1, ticks=40)
    assert together.episode_returns == pytest.approx(apart.episode_returns)
    single = evaluate(config, "random", wait, episodes=1, seed=3, ticks=40)
    assert single.episode_returns[0] == pytest.approx(together.episode_returns[1])


def test_returns_follow_agents_through_exits_and_arrivals() -> None:
    r = AgentReturns(rows=4, slots=2)
    alive = np.array([True, True, True, False])
    r.start(0, alive)
    r.start(1, alive)
    f = np.zeros(4, dtype=bool)
    acted = alive.copy()
    # row 0 exits with a terminal reward while a newcomer takes its slot; row 3 gains one
    exited = np.array([True, False, False, False])
    spawned = np.array([True, False, False, True])
    r.step(np.array([-1.0, 0.5, 0.5, 0.2], np.float32), acted, exited, spawned)
    r.step(np.array([0.25, 0.5, 0.5, 0.25], np.float32), np.ones(4, bool), f, f)
    assert sorted(r.finish(0)) == [-1.0, 0.25, 1.0]
    assert sorted(r.finish(1)) == pytest.approx([0.45, 1.0])


def test_interval_uses_episodes_as_units() -> None:
    mean, (low, high) = mean_ci95([[1.0, 1.0], [3.0, 3.0]])
    assert mean == 2.0
    # two clusters: t(1) = 12.706, cluster-robust se = 1
    assert (low, high) == pytest.approx((2 - 12.706, 2 + 12.706))
    assert mean_ci95([[2.0]]) == (2.0, (2.0, 2.0))
    mean, (low, high) = mean_ci95([[1.0, 2.0, 3.0]])
    assert (low, high) == pytest.approx((2 - 4.303 / np.sqrt(3), 2 + 4.303 / np.sqrt(3)))


def test_cli_json_and_table(cli) -> None:
    args = ("evaluate", "--policy", "random", "--episodes", "2", "--ticks", "30", "--seed", "4")
    result = cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("mean_return", "return_ci95", "kpis", "seeds", "episodes"):
        assert key in report
    assert report["seeds"] == [4, 5] and report["policy"] == "random"
    table = cli(*args, "--set", "policy.params.options=[wait]")
    assert table.returncode == 0, table.stderr
    assert "return/agent-episode" in table.stdout and "95% CI" in table.stdout
    assert "self_sufficiency" in table.stdout


def test_cli_refuses_unknown_policy(cli) -> None:
    result = cli("evaluate", "--policy", "nope", "--episodes", "1", "--ticks", "5")
    assert result.returncode == 2
    assert "nope" in result.stderr
