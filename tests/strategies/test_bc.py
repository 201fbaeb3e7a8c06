"""Behaviour cloning: decisions from captures, episode split, learning, and its checkpoints."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from townlet.core.config import TownletConfig, load_config, parse_override
from townlet.core.env.vector import VectorTownEnv
from townlet.core.errors import TownletError
from townlet.core.ports import OPTIONS
from townlet.core.registry import Registry
from townlet.core.training.capture import RolloutCapture
from townlet.core.training.context import build_context
from townlet.core.training.dto import EpochRecord
from townlet.core.training.epoch_log import EPOCH_LOG
from townlet.core.training.replay import ReplayDataset
from townlet.core.world.rows import TownRows
from townlet.strategies._demos import Demonstrations, _discounted
from townlet.strategies.bc import BCParams, BCResult, BCStrategy
from townlet.strategies.checkpoint import load_checkpoint
from townlet.strategies.learned import LearnedPolicy, LearnedPolicyParams
from townlet.strategies.ppo import PPOParams, PPOStrategy

# relationship stage C makes ``socialise`` legal, so every option can be chosen
TOWN = ("features.stages.relationships=C",)


def _config(*overrides: str) -> TownletConfig:
    return load_config(overrides=[parse_override(o) for o in (*TOWN, *overrides)]).config


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two default towns, scripted, 400 ticks in episodes of 200: four episodes."""
    out = tmp_path_factory.mktemp("capture")
    return RolloutCapture(_config()).capture(
        "scripted", ticks=400, towns=2, seed=3, output_dir=out, horizon=200
    )


@pytest.fixture(scope="module")
def cloned(manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> BCResult:
    cfg = _config(
        "training.mode=replay", f"training.replay_manifest={manifest}", "training.epochs=3"
    )
    with build_context(cfg, tmp_path_factory.mktemp("bc") / "run") as ctx:
        strategy = BCStrategy(BCParams())
        strategy.prepare(ctx)
        return strategy.run(ctx)


def test_discounted_returns_follow_chains() -> None:
    # two chains: ticks 0-2 (horizon: bootstrapped) and 3-4 (the agent left town)
    partial, disc, end = _discounted(
        [1.0, 2.0, 4.0, 1.0, 1.0], [True, True, False, True, False],
        [False, False, False, False, True], 0.5,
    )  # fmt: skip
    np.testing.assert_allclose(partial, [1 + 0.5 * 2 + 0.25 * 4, 2 + 0.5 * 4, 4, 1.5, 1])
    np.testing.assert_allclose(disc, [0.125, 0.25, 0.5, 0.0, 0.0])
    assert end.tolist() == [2, 2, 2, 4, 4]


def test_decisions_are_the_captured_decision_points(manifest: Path) -> None:
    ds = ReplayDataset.from_manifest(manifest)
    a = ds.arrays
    demos = Demonstrations.load(ds, 0.99, 1.0)
    decided = a["decided"] & ~a["possessed"]
    assert demos.size == int(np.count_nonzero(decided))  # the scripted policy picks legal options
    assert 0 < demos.size < int(np.count_nonzero(a["acted"]))  # committed ticks are not decisions
    assert (
        np.bincount(demos.action, minlength=len(OPTIONS)).tolist()
        == np.bincount(a["actions"][decided], minlength=len(OPTIONS)).tolist()
    )
    assert demos.mask[np.arange(demos.size), demos.action].all()
    assert 0 < np.count_nonzero(demos.changed) < demos.size
    assert np.isfinite(demos.partial_return).all() and (demos.boot_discount <= 1).all()


def test_split_holds_out_whole_episodes(manifest: Path) -> None:
    demos = Demonstrations.load(ReplayDataset.from_manifest(manifest), 0.99, 1.0)
    train, held = demos.split(0.25, seed=0)
    assert train.size + held.size == demos.size
    assert len(np.unique(held.episode)) == 1  # a quarter of four episodes
    assert not set(np.unique(train.episode)) & set(np.unique(held.episode))
    again, _ = demos.split(0.25, seed=0)
    np.testing.assert_array_equal(again.episode, train.episode)  # seeded


def test_captures_of_one_world_share_a_side_of_the_split(tmp_path: Path) -> None:
    """Town 1 of a scripted capture seeded 0 and town 0 of one seeded 1 play the world
    of seed 1 alike: one unit of the split, not two (else its decisions would sit on
    both sides). A random capture seeded 0 meets world 0 in the same rows as the first
    capture: one unit of the split too, but its ticks chain only with its own."""
    paths = []
    for policy, seed, towns in (("scripted", 0, 2), ("scripted", 1, 1), ("random", 0, 1)):
        manifest = RolloutCapture(_config()).capture(
            policy, ticks=30, towns=towns, seed=seed, output_dir=tmp_path / f"{policy}{seed}"
        )
        paths += ReplayDataset.from_manifest(manifest).paths
    demos = Demonstrations.load(ReplayDataset.from_paths(paths), 0.99, 1.0)
    assert np.unique(demos.episode).size == 2  # the worlds of seeds 0 and 1
    train, held = demos.split(0.5, seed=0)
    assert not set(train.episode) & set(held.episode)
    alone = [
        Demonstrations.load(ReplayDataset.from_paths([path]), 0.99, 1.0).partial_return
        for path in paths
    ]
    np.testing.assert_allclose(np.sort(demos.partial_return), np.sort(np.concatenate(alone)))


def test_bc_clones_the_scripted_choices(cloned: BCResult) -> None:
    counts = np.array([cloned.holdout_counts[o] for o in OPTIONS])
    majority = counts.max() / counts.sum()  # always guessing the most common option
    assert cloned.accuracy >= 0.8 and cloned.accuracy > majority + 0.3
    # repeating each agent's previous decision is right exactly when it carries on ...
    assert cloned.repeat_accuracy == pytest.approx(1 - cloned.holdout_changed / counts.sum())
    # ... and wrong on every real choice, where the clone must do better than that
    assert cloned.changed_accuracy is not None and cloned.changed_accuracy > 0
    confusion = np.array(cloned.confusion)
    assert confusion.shape == (len(OPTIONS), len(OPTIONS))
    assert confusion.sum() == cloned.holdout_decisions and confusion.trace() == pytest.approx(
        cloned.accuracy * cloned.holdout_decisions
    )
    assert confusion.sum(axis=1).tolist() == counts.tolist()
    for option, acc in cloned.per_option_accuracy.items():
        assert (acc is None) == (cloned.holdout_counts[option] == 0)
    assert cloned.holdout_episodes == 1 and cloned.policy == "learned"
    assert {"eval/accuracy", "losses/policy_loss", "losses/value_loss"} <= set(cloned.final_metrics)


def _records(run: Path) -> list[EpochRecord]:
    lines = (run / EPOCH_LOG).read_text(encoding="utf-8").splitlines()
    return [EpochRecord.model_validate(json.loads(line)) for line in lines]


def test_epoch_log_and_result_file(cloned: BCResult) -> None:
    records = _records(cloned.run_dir)
    assert [r.epoch for r in records] == [1, 2, 3]
    assert all(r.data_mode == "replay" and r.transitions == cloned.train_decisions for r in records)
    assert records[-1].loss_policy < records[0].loss_policy
    text = (cloned.run_dir / "metrics.jsonl").read_text(encoding="utf-8")
    metrics = [json.loads(line) for line in text.splitlines()]
    assert metrics[-1]["eval/accuracy"] == cloned.accuracy


def test_checkpoint_drives_the_learned_policy(cloned: BCResult) -> None:
    ckpt = load_checkpoint(cloned.run_dir)
    assert ckpt.hyperparameters["hidden"] == 128 and ckpt.hyperparameters["lstm"] is False
    policy = LearnedPolicy(LearnedPolicyParams(checkpoint=cloned.run_dir, greedy=True))
    venv = VectorTownEnv(2, _config())
    venv.reset(seed=7)
    for _ in range(30):
        options = policy.act_many(TownRows(venv.worlds))
        masks = np.concatenate([w.action_masks() for w in venv.worlds])
        assert masks[np.arange(venv.num_rows), options].all()
        venv.step(options)


def test_checkpoint_initialises_ppo(cloned: BCResult, tmp_path: Path) -> None:
    cfg = _config("training.towns=1", "training.rollout_ticks=20", "training.epochs=1")
    with build_context(cfg, tmp_path / "ppo") as ctx:
        ppo = PPOStrategy(PPOParams(init_from=cloned.run_dir))
        ppo.prepare(ctx)
        assert (
            ppo.init is not None
            and ppo.init.policy_hash == load_checkpoint(cloned.run_dir).policy_hash
        )
        result = ppo.run(ctx)
    assert result.epochs == 1


def test_registered_and_refuses_what_it_cannot_learn_from(manifest: Path, tmp_path: Path) -> None:
    assert Registry().find("training_strategies", "bc").name == "bc"
    cfg = _config(f"training.replay_manifest={manifest}")  # mode: rollout
    with (
        build_context(cfg, tmp_path / "a") as ctx,
        pytest.raises(TownletError, match="--mode replay"),
    ):
        BCStrategy(BCParams()).prepare(ctx)
    short = RolloutCapture(_config()).capture(
        "scripted", ticks=5, towns=1, seed=1, output_dir=tmp_path / "one"
    )
    cfg = _config("training.mode=replay", f"training.replay_manifest={short}")
    with build_context(cfg, tmp_path / "b") as ctx:
        strategy = BCStrategy(BCParams())
        strategy.prepare(ctx)
        with pytest.raises(TownletError, match="at least 2"):
            strategy.run(ctx)


def _bc(
    cfg: TownletConfig, out: Path, *, resume: Path | None = None, stop_after: int = 0
) -> BCResult:
    stop = threading.Event()

    def progress(epoch: int, _: Mapping[str, float]) -> None:
        if epoch == stop_after:
            stop.set()

    with build_context(cfg, out, resume_from=resume, on_progress=progress, stop=stop) as ctx:
        strategy = BCStrategy(BCParams())
        strategy.prepare(ctx)
        return strategy.run(ctx)


def test_resume_continues_bit_identically(manifest: Path, tmp_path: Path) -> None:
    cfg = _config(
        "training.mode=replay", f"training.replay_manifest={manifest}", "training.epochs=2"
    )
    whole = _bc(cfg, tmp_path / "whole")
    first = _bc(cfg, tmp_path / "split", stop_after=1)
    assert first.stopped_early and first.epochs == 1
    rest = _bc(cfg, tmp_path / "split", resume=tmp_path / "split")
    assert rest.epochs == 2 and rest.accuracy == whole.accuracy
    assert load_checkpoint(rest.run_dir).policy_hash == load_checkpoint(whole.run_dir).policy_hash
    assert [r.epoch for r in _records(tmp_path / "split")] == [1, 2]
    # another seed would draw other held-out episodes and train on some held out before
    reseeded = cfg.model_copy(update={"seed": cfg.seed + 1})
    with pytest.raises(TownletError, match=rf"resume with --seed {cfg.seed} "):
        _bc(reseeded, tmp_path / "split2", resume=tmp_path / "split")
