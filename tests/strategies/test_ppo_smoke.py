"""Tiny-budget runs of ``ppo`` in every mode (CleanRL's ``--total-timesteps 256`` tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.strategies.helpers import config, train
from townlet.core.training.capture import RolloutCapture
from townlet.core.training.dto import EpochRecord
from townlet.core.training.epoch_log import EPOCH_LOG
from townlet.strategies.checkpoint import load_checkpoint

TINY = ("training.towns=2", "training.rollout_ticks=40", "training.epochs=2")


def _records(run: Path) -> list[EpochRecord]:
    lines = (run / EPOCH_LOG).read_text(encoding="utf-8").splitlines()
    return [EpochRecord.model_validate(json.loads(line)) for line in lines]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short scripted capture of the one-citizen town."""
    out = tmp_path_factory.mktemp("capture")
    return RolloutCapture(config()).capture("scripted", ticks=60, output_dir=out, towns=2)


@pytest.mark.parametrize("lstm", [False, True], ids=["mlp", "lstm"])
def test_rollout_mode_trains_logs_and_checkpoints(tmp_path: Path, lstm: bool) -> None:
    result = train(config(*TINY), tmp_path / "run", lstm=lstm)
    assert result.epochs == 2 and result.transitions > 0 and result.mode == "rollout"
    records = _records(tmp_path / "run")
    assert [r.epoch for r in records] == [1, 2]
    assert all(
        r.updates > 0 and r.data_mode == "rollout" and r.rollout_ticks == 40 for r in records
    )
    assert {"losses/policy_loss", "losses/approx_kl", "charts/SPS"} <= set(result.final_metrics)
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt.epoch == 2 and ckpt.hyperparameters["lstm"] is lstm
    assert ckpt.config_id == result.config_id and len(ckpt.policy_hash) == 16


@pytest.mark.parametrize("mode", ["replay", "mixed"])
def test_replay_and_mixed_modes_train_from_captured_samples(
    tmp_path: Path, manifest: Path, mode: str
) -> None:
    cfg = config(*TINY, f"training.mode={mode}", f"training.replay_manifest={manifest}")
    result = train(cfg, tmp_path / "run")
    assert result.epochs == 2 and result.mode == mode
    records = _records(tmp_path / "run")
    assert all(r.data_mode == mode and r.updates > 0 and r.transitions > 0 for r in records)
    assert records[0].rollout_ticks == (0 if mode == "replay" else 40)


def test_epoch_records_count_the_rollouts_queue_conflicts(tmp_path: Path) -> None:
    # eight citizens sharing the default town's showers and tills clash within a few ticks
    cfg = config(*TINY, "world.agents=8", "training.rollout_ticks=100")
    train(cfg, tmp_path / "run")
    records = _records(tmp_path / "run")
    assert sum(r.queue_conflict_events for r in records) > 0
    assert all(
        (r.queue_conflict_intensity_sum > 0) == (r.queue_conflict_events > 0) for r in records
    )
