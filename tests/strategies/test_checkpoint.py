"""Checkpoints: a resumed run equals an uninterrupted one; incompatible ones are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.strategies.helpers import config, train
from townlet.core.observations.build import build_encoder
from townlet.core.ports import OPTIONS
from townlet.strategies.checkpoint import (
    CheckpointError,
    check_compatible,
    load_checkpoint,
    save_checkpoint,
)
from townlet.strategies.learned import LearnedPolicy, LearnedPolicyParams

# horizon 40, 20 ticks per epoch: every second epoch ends on an episode boundary
SMALL = ("training.towns=2", "training.rollout_ticks=20", "training.epochs=4")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ppo") / "run"
    train(config(*SMALL), out, horizon=40)
    return out


def test_resumed_run_equals_uninterrupted(run: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut"
    first = train(config(*SMALL), cut, horizon=40, stop_after=2)
    assert first.epochs == 2 and first.stopped_early
    resumed = train(config(*SMALL), cut, horizon=40, resume=cut)
    assert resumed.epochs == 4
    whole, parts = load_checkpoint(run), load_checkpoint(cut)
    assert parts.agent_steps == whole.agent_steps
    assert parts.policy_hash == whole.policy_hash
    for name, tensor in whole.model.items():
        assert torch.equal(tensor, parts.model[name]), name


def test_other_encoder_is_refused(run: Path) -> None:
    spec = build_encoder(config("observations.encoder=compact")).spec
    with pytest.raises(CheckpointError, match=r"encoder 'hybrid'.*'compact'"):
        check_compatible(load_checkpoint(run), spec, OPTIONS)


def test_other_spec_or_options_are_refused(run: Path) -> None:
    ckpt = load_checkpoint(run)
    spec = build_encoder(config("observations.params.window=7")).spec
    with pytest.raises(CheckpointError, match="spec hash"):
        check_compatible(ckpt, spec, OPTIONS)
    same = build_encoder(config(), defaults={"horizon": 40}).spec
    with pytest.raises(CheckpointError, match="option set"):
        check_compatible(ckpt, same, OPTIONS[:-1])


def test_resume_with_other_hyperparameters_is_refused(run: Path, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="other hyperparameters"):
        train(config(*SMALL), tmp_path / "x", horizon=40, resume=run, ent_coef=0.5)


def test_tampered_or_foreign_files_are_refused(run: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(run)
    bad = {k: v.clone() for k, v in ckpt.model.items()}
    next(iter(bad.values())).add_(1.0)
    path = save_checkpoint(
        tmp_path / "bad.pt", model=bad, optimizer=ckpt.optimizer,
        encoder_params=ckpt.encoder_params,
        spec=build_encoder(config(), defaults={"horizon": 40}).spec, options=OPTIONS,
        config_id="x", hyperparameters=ckpt.hyperparameters, epoch=1, agent_steps=1, ticks=1,
        rng={},
    )  # fmt: skip
    raw = torch.load(path, weights_only=True)
    raw["policy_hash"] = ckpt.policy_hash
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match="policy hash"):
        LearnedPolicy(LearnedPolicyParams(checkpoint=path))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_init_from_starts_from_the_weights_with_a_fresh_run(run: Path, tmp_path: Path) -> None:
    start = load_checkpoint(run)
    warm = train(
        config("training.towns=2", "training.rollout_ticks=20", "training.epochs=1"),
        tmp_path / "warm",
        horizon=40,
        init_from=run,
        learning_rate=1e-9,
    )
    assert warm.epochs == 1
    after = load_checkpoint(tmp_path / "warm")
    assert after.epoch == 1  # a new run, not a resumed one
    for name, tensor in start.model.items():  # a tiny learning rate keeps the weights close
        assert torch.allclose(tensor, after.model[name], atol=1e-5), name


def test_init_from_refuses_another_network_shape(run: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not fit this network"):
        train(config(*SMALL), tmp_path / "wide", horizon=40, init_from=run, hidden=64)
