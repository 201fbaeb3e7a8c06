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
