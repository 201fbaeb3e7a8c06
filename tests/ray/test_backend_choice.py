"""Choosing the backend: without townlet-strategies[ray], Ray is one clear error
(exit 2); nothing imports ray unless Ray is chosen; strategies that cannot run on
Ray refuse it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.training import counter_strategy
from townlet.core.config import load_config, parse_override
from townlet.core.errors import TownletError
from townlet.core.registry import Registry
from townlet.core.training import backends
from townlet.core.training.backends import BackendUnavailable, load_ray_backend
from townlet.core.training.orchestrator import train

HAVE_RAY = importlib.util.find_spec("ray") is not None
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def test_the_error_names_the_extra_in_one_paragraph(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_missing", lambda name: True)
    with pytest.raises(BackendUnavailable) as info:
        load_ray_backend("training.backend: ray")
    message = str(info.value)
    assert "pip install 'townlet-strategies[ray]'" in message
    assert message.startswith("training.backend: ray runs on Ray") and "\n" not in message


@pytest.mark.skipif(HAVE_RAY, reason="ray is installed here")
def test_evaluate_with_the_ray_backend_exits_2_naming_the_extra(cli) -> None:
    result = cli("evaluate", "--backend", "ray", "--episodes", "1", "--ticks", "5")
    assert result.returncode == 2, result.stderr
    assert "townlet-strategies[ray]" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(HAVE_RAY or not HAVE_TORCH, reason="needs townlet-strategies without ray")
def test_train_with_the_ray_backend_exits_2_naming_the_extra(cli, tmp_path) -> None:
    result = cli("train", "--epochs", "1", "--set", "training.backend=ray", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "townlet-strategies[ray]" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()  # refused before a run directory is made


@pytest.mark.skipif(not HAVE_TORCH, reason="needs townlet-strategies")
def test_nothing_imports_ray_unless_it_is_chosen() -> None:
    code = (
        "import sys, townlet.core.cli, townlet.core.training.evaluate, townlet.strategies.ppo, "
        "townlet.strategies.learned; sys.exit('ray' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.skipif(not HAVE_RAY, reason="meaningful only where ray is installed")
def test_no_townlet_core_module_imports_ray() -> None:
    # every module (adapters whose library is absent refuse to import: left out)
    code = (
        "import importlib, pkgutil, sys, townlet.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'townlet.core.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        try: importlib.import_module(m.name)\n"
        "        except ImportError: pass\n"
        "found = sorted(k for k in sys.modules if k == 'ray' or k.startswith('ray.'))\n"
        "sys.exit(f'imported {found}' if found else None)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_strategy_without_ray_support_refuses_the_ray_backend(make_dist, tmp_path) -> None:
    counter_strategy.install(make_dist)
    sets = ("training.strategy=counter", "world.agents=1", "training.backend=ray")
    config = load_config(overrides=[parse_override(o) for o in sets]).config
    with pytest.raises(TownletError, match=r"'counter' does not run on training\.backend 'ray'"):
        train(config, registry=Registry(), runs_root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()  # refused before a run directory is made
