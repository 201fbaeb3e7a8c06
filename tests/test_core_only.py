"""Checks that only make sense with townlet-core installed alone (``nox -s core``)."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os

import pytest

pytestmark = pytest.mark.skipif(
    not os.environ.get("TOWNLET_CORE_ONLY"), reason="runs in the core-only session (nox -s core)"
)


def test_torch_is_not_installed() -> None:
    assert importlib.util.find_spec("torch") is None


@pytest.mark.parametrize("dist", ["townlet-strategies", "townlet-telemetry", "townlet-scenarios"])
def test_other_townlet_packages_are_absent(dist: str) -> None:
    with pytest.raises(md.PackageNotFoundError):
        md.distribution(dist)


def test_cli_lists_plugins_and_validates_without_torch(cli) -> None:
    listed = cli("plugins", "list")
    assert listed.returncode == 0, listed.stderr
    assert "training strategies (townlet.training_strategies)" in listed.stdout
    validated = cli("validate")
    assert validated.returncode == 0, validated.stderr
    missing = cli("validate", "--strategy", "ppo")
    assert missing.returncode == 2
    hint = "'ppo' is provided by townlet-strategies: pip install townlet-strategies"
    assert hint in missing.stderr


def test_train_without_a_strategy_package_exits_2_naming_it(cli, tmp_path) -> None:
    result = cli("train", "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "pip install townlet-strategies" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_capture_inspect_and_evaluate_work_without_torch(cli, tmp_path) -> None:
    out = tmp_path / "capture"
    captured = cli("capture-rollout", "--output", str(out), "--ticks", "40", "--towns", "2")
    assert captured.returncode == 0, captured.stderr
    inspected = cli("replay", "inspect", str(out / "manifest.json"))
    assert inspected.returncode == 0, inspected.stderr
    assert "action" in inspected.stdout
    for policy in ("scripted", "random"):
        run = cli("evaluate", "--policy", policy, "--episodes", "2", "--ticks", "50", "--json")
        assert run.returncode == 0, run.stderr
        assert '"mean_return"' in run.stdout


def test_scenarios_list_says_what_to_install(cli) -> None:
    listed = cli("scenarios", "list")
    assert listed.returncode == 0, listed.stderr
    assert "pip install townlet-scenarios" in listed.stdout + listed.stderr
