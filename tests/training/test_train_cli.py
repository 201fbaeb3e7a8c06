"""``townlet train``: flags, progress, summary, Ctrl-C, resume and the missing-package exit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from tests.training import counter_strategy
from tests.training.helpers import small_spec, write
from townlet.core.cli import townlet
from townlet.core.registry import Registry
from townlet.core.training.epoch_log import EPOCH_LOG
from townlet.core.training.orchestrator import CONFIG_FILE, RESULT_FILE


@pytest.fixture
def counter(make_dist: Any) -> None:
    counter_strategy.install(make_dist)


def train(*args: str) -> Result:
    return CliRunner().invoke(townlet, ["train", "--strategy", "counter", *args])


def test_trains_into_a_new_run_dir_with_progress_and_summary(
    counter: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = train("--set", "world.agents=1", "--seed", "3", "--epochs", "2")
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "default__counter__3__1"
    assert (run / RESULT_FILE).is_file() and (run / EPOCH_LOG).is_file()
    assert "epoch 1/2  sps 1,234  return -2.5  loss 0.4" in result.stderr
    assert "counter on default (seed 3): 2 epochs, 20 agent-steps" in result.stdout
    assert f"run directory  {Path('runs') / run.name}" in result.stdout


def test_flags_land_in_the_resolved_config(counter: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = train(
        *("--output", str(out), "--quiet", "--mode", "mixed", "--total-steps", "500"),
        *("--rollout-ticks", "16", "--towns", "2", "--device", "cpu"),
        *("--ppo-log", str(tmp_path / "p.jsonl"), "--set", "training.params.epochs=1"),
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    saved = yaml.safe_load((out / CONFIG_FILE).read_text())["training"]
    assert saved["mode"] == "mixed" and saved["total_steps"] == 500
    assert saved["rollout_ticks"] == 16 and saved["towns"] == 2 and saved["device"] == "cpu"
    assert saved["ppo_log"] == str(tmp_path / "p.jsonl") and saved["params"] == {"epochs": 1}
    assert (tmp_path / "p.jsonl").read_text() == (out / EPOCH_LOG).read_text()


def test_ctrl_c_stops_after_the_epoch_and_writes_the_result(counter: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = train(
        "--output", str(out), "--epochs", "5", "--set", "training.params.interrupt_after=2"
    )
    assert result.exit_code == 0, result.output
    assert "stopping after this epoch" in result.stderr
    saved = json.loads((out / RESULT_FILE).read_text())
    assert saved["epochs"] == 2 and saved["stopped_early"] is True
    assert "stopped early" in result.stdout


def test_resume_reloads_the_config_and_continues(counter: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert train("--output", str(out), "--quiet", "--seed", "5").exit_code == 0
    result = CliRunner().invoke(townlet, ["train", "--resume", str(out), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / RESULT_FILE).read_text())
    assert saved["seed"] == 5 and saved["final_metrics"]["resumed"] == 1.0
    epochs = [json.loads(x)["epoch"] for x in (out / EPOCH_LOG).read_text().splitlines()]
    assert epochs == [1, 2, 3, 4, 5]
    both = CliRunner().invoke(townlet, ["train", "x.yaml", "--resume", str(out)])
    assert both.exit_code == 2 and "not both" in both.output


def test_replay_samples_are_summarised_before_training(counter: None, tmp_path: Path) -> None:
    spec = small_spec()
    write(tmp_path / "a", spec, n=40)
    write(tmp_path / "b", spec, n=20, seed=1)
    result = train(
        *("--output", str(tmp_path / "run"), "--quiet", "--mode", "replay"),
        *("--replay-sample", str(tmp_path / "a.npz"), "--replay-sample", str(tmp_path / "b")),
    )
    assert result.exit_code == 0, result.output
    assert "social.rivalry_max" in result.stdout
    assert result.stdout.index("social.rivalry_max") < result.stdout.index("run directory")


def test_a_broken_replay_sample_exits_2_naming_it(counter: None, tmp_path: Path) -> None:
    write(tmp_path / "a", small_spec(), n=10)
    (tmp_path / "a.json").write_text("{")
    result = train("--quiet", "--replay-sample", str(tmp_path / "a.npz"))
    assert result.exit_code == 2
    assert "a.json: sidecar is not valid JSON" in result.stderr


def test_unknown_strategy_exits_2_listing_installed(counter: None) -> None:
    result = CliRunner().invoke(townlet, ["train", "--strategy", "countr"])
    assert result.exit_code == 2
    assert "Did you mean 'counter'?" in result.stderr


def test_no_strategy_installed_exits_2_naming_the_package(cli: Any, tmp_path: Path) -> None:
    names = sorted({i.name for i in Registry().infos("training_strategies")})
    env = {"TOWNLET_DISABLE_PLUGINS": ",".join(names)} if names else {}
    result = cli("train", "--strategy", "ppo", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "No training strategy is available" in result.stderr
    if names:
        disabled = f"TOWNLET_DISABLE_PLUGINS={env['TOWNLET_DISABLE_PLUGINS']!r}"
        assert disabled in result.stderr
    else:
        assert "pip install townlet-strategies" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_the_epoch_log_passes_telemetry_validate_and_summary(
    counter: None, cli: Any, tmp_path: Path
) -> None:
    pytest.importorskip("townlet.telemetry")
    out = tmp_path / "run"
    assert train("--output", str(out), "--quiet").exit_code == 0
    valid = cli("telemetry", "validate", str(out / EPOCH_LOG))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    summary = cli("telemetry", "summary", str(out / EPOCH_LOG))
    assert summary.returncode == 0, summary.stdout + summary.stderr
    assert "3 epoch(s), versions {'1.2': 3}" in summary.stdout
