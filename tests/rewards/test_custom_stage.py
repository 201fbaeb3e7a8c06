"""A reward stage from a third-party package, named in YAML, changes the rewards."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.env.helpers import run_scripted
from townlet.core.config import check_plugins, load_config
from townlet.core.registry import Registry
from townlet.core.rewards import RewardPipeline
from townlet.core.world.world import World

EXAMPLE = Path(__file__).parent / "example"


@pytest.fixture
def tidy_installed(make_dist, monkeypatch: pytest.MonkeyPatch):
    make_dist(
        "townlet-tidy-bonus",
        "0.1.0",
        entry_points={"townlet.reward_stages": {"tidy_bonus": "tidy_bonus:TidyBonus"}},
    )
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield
    sys.modules.pop("tidy_bonus", None)


def write_config(tmp_path: Path, stages: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(f"extends: builtin:default\nconfig_id: tidy\nrewards:\n  stages:\n{stages}")
    return path


WITH = (
    "    - name: homeostasis\n"
    "    - name: tidy_bonus\n"
    "      params: {amount: 0.01, threshold: 0.6}\n"
)
WITHOUT = "    - name: homeostasis\n"


def test_custom_stage_from_yaml_changes_rewards(tidy_installed, tmp_path: Path) -> None:
    registry = Registry()
    info = registry.find("reward_stages", "tidy_bonus")
    assert info.dist == "townlet-tidy-bonus" and info.version == "0.1.0"
    with_cfg = load_config(write_config(tmp_path, WITH)).config
    without_cfg = load_config(write_config(tmp_path, WITHOUT)).config
    runs = []
    for cfg in (with_cfg, without_cfg):
        w = World.from_config(cfg)
        p = RewardPipeline.from_config(cfg, registry)
        p.reset(w)
        policy = run_scripted(w, 0)
        totals, hygiene = [], []
        for _ in range(300):
            w.step(policy.act(w))
            totals.append(p.compute(w).copy())
            hygiene.append(w.agents.needs[:, 1].copy())
        runs.append((np.array(totals), np.array(hygiene), p))
    (with_r, hyg, pipe), (without_r, hyg2, _) = runs
    np.testing.assert_array_equal(hyg, hyg2)  # rewards never change the world
    bonus = (hyg >= 0.6) * 0.01
    np.testing.assert_allclose(with_r - without_r, bonus, atol=1e-6)
    assert bonus.sum() > 0
    assert pipe.labels == ("homeostasis", "tidy_bonus")


def test_custom_stage_params_are_checked_like_any_plugin(tidy_installed, tmp_path: Path) -> None:
    bad = "    - name: tidy_bonus\n      params: {amount: 5}\n"
    loaded = load_config(write_config(tmp_path, bad))
    problems = check_plugins(loaded)
    assert len(problems) == 1
    assert "rewards.stages[0].name" in problems[0] and "amount" in problems[0]


def test_custom_stage_in_the_env(tidy_installed, tmp_path: Path) -> None:
    pytest.importorskip("pettingzoo")
    from townlet.core.env import TownletParallelEnv

    env = TownletParallelEnv(write_config(tmp_path, WITH), horizon=20, info_rewards=True)
    env.reset(seed=1)
    _, rewards, _, _, infos = env.step(dict.fromkeys(env.agents, 0))
    for agent, info in infos.items():
        assert set(info["rewards"]) == {"homeostasis", "tidy_bonus"}
        assert rewards[agent] == pytest.approx(sum(info["rewards"].values()), abs=1e-6)


def test_docs_example_is_the_tested_code() -> None:
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "plugins.md").read_text()
    source = (EXAMPLE / "tidy_bonus.py").read_text()
    start = "class TidyBonusParams"
    blocks = [b.split("```", 1)[0] for b in doc.split("```python\n")[1:]]
    (code,) = [b for b in blocks if start in b]
    assert code[code.index(start) :].strip() == source[source.index(start) :].strip()


def test_rewards_doc_covers_every_builtin_stage() -> None:
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "rewards.md").read_text()
    for info in Registry().infos("reward_stages"):
        if info.dist == "townlet-core":
            assert f"`{info.name}`" in doc, info.name
