"""The `townlet` CLI: plugins list/show, validate, config show, error exits."""

from __future__ import annotations

import json
from pathlib import Path


def test_version(cli) -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("townlet, version ")


def test_plugins_list_shows_every_port(cli, example_plugins: Path) -> None:
    result = cli("plugins", "list", extra_path=example_plugins)
    assert result.returncode == 0, result.stderr
    for title in (
        "observation encoders",
        "reward stages",
        "training strategies",
        "telemetry sinks",
        "policies",
        "scenarios",
    ):
        assert f"\n{title} (townlet." in result.stdout
    assert "my_algo" in result.stdout and "townlet-example-strategy 0.1.0" in result.stdout
    assert "broken_algo" in result.stdout


def test_plugins_list_json(cli, example_plugins: Path) -> None:
    result = cli("plugins", "list", "--json", extra_path=example_plugins)
    doc = json.loads(result.stdout)
    assert doc["plugin_api_version"] == "2.1"
    strategies = {p["name"]: p for p in doc["ports"]["training_strategies"]}
    assert strategies["my_algo"] == {
        "name": "my_algo",
        "target": "townlet_example_strategy:MyAlgo",
        "dist": "townlet-example-strategy",
        "version": "0.1.0",
        "requires_torch": False,
        "disabled": False,
    }
    assert {
        "name": "broken_hooks",
        "target": "townlet_broken_plugin",
        "dist": "townlet-broken-plugin",
        "version": "0.1.0",
    } in doc["hooks"]


def test_plugins_show_prints_doc_and_params(cli, example_plugins: Path) -> None:
    result = cli("plugins", "show", "my_algo", extra_path=example_plugins)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "my_algo — training strategy from townlet-example-strategy 0.1.0" in out
    assert "The cross-entropy method over a linear option policy" in out
    assert "population" in out and "int" in out and "16" in out
    assert "Candidates per iteration" in out


def test_plugins_show_unknown_exits_2(cli, example_plugins: Path) -> None:
    result = cli("plugins", "show", "my_algoo", extra_path=example_plugins)
    assert result.returncode == 2
    assert "Did you mean 'my_algo'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_typo_suggests_first_party_package(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("extends: builtin:default\ntraining:\n  strategy: ppoo\n")
    result = cli("validate", str(cfg))
    assert result.returncode == 2
    assert f"{cfg.resolve()}:3: training.strategy = 'ppoo'" in result.stderr
    assert "Did you mean 'ppo'?" in result.stderr
    assert "townlet-strategies" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_type_error(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("config_id: c\nseed: many\n")
    result = cli("validate", str(cfg))
    assert result.returncode == 2
    assert f"{cfg.resolve()}:2: seed: Input should be a valid integer" in result.stderr
    assert "(got 'many')" in result.stderr


def test_third_party_strategy_selected_from_yaml_and_flag(cli, example_plugins, tmp_path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "extends: builtin:default\ntraining:\n  strategy: my_algo\n  params: {iterations: 4}\n"
    )
    assert cli("validate", str(cfg), extra_path=example_plugins).returncode == 0
    ok = cli("validate", "--strategy", "my_algo", extra_path=example_plugins)
    assert ok.returncode == 0, ok.stderr
    bad = cli(
        "validate", str(cfg), "--set", "training.params.iterations=0", extra_path=example_plugins
    )
    assert bad.returncode == 2
    assert "params.iterations: Input should be greater than or equal to 1 (got 0)" in bad.stderr


def test_broken_plugin_reported_and_others_still_work(cli, example_plugins: Path) -> None:
    broken = cli("validate", "--strategy", "broken_algo", extra_path=example_plugins)
    assert broken.returncode == 2
    assert "townlet-broken-plugin 0.1.0 failed to import" in broken.stderr
    assert "townlet_dependency_that_is_not_installed" in broken.stderr
    listed = cli("plugins", "list", extra_path=example_plugins)
    assert listed.returncode == 0


def test_config_show_applies_shortcuts(cli) -> None:
    result = cli(
        "config",
        "show",
        "--format",
        "json",
        "--strategy",
        "x",
        "--sink",
        "a",
        "--sink",
        "b",
        "--set",
        "seed=4",
    )
    doc = json.loads(result.stdout)
    assert doc["training"]["strategy"] == "x"
    assert [s["name"] for s in doc["telemetry"]["sinks"]] == ["a", "b"]
    assert doc["seed"] == 4


def test_listing_and_core_import_leave_torch_unloaded(cli, example_plugins: Path) -> None:
    code = (
        "import sys, townlet.core\n"
        "from townlet.core.registry import Registry, PORTS\n"
        "r = Registry()\n"
        "[r.infos(p.key) for p in PORTS]\n"
        "from townlet.core.cli import townlet\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "print('clean')\n"
    )
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "clean", proc.stderr


# -- hints that must not mislead ------------------------------------------------------


def test_plugins_show_with_another_port_says_where_the_name_is(cli) -> None:
    import pytest

    pytest.importorskip("townlet.telemetry")
    result = cli("plugins", "show", "jsonl", "--port", "reward_stages")
    assert result.returncode == 2
    assert "No reward stage is called 'jsonl'; 'jsonl' is a telemetry sink" in result.stderr
    assert "Did you mean" not in result.stderr


def test_an_installed_package_is_not_sent_to_pip(cli) -> None:
    """townlet-strategies is installed and 'bc' is switched off: the hint says so."""
    import pytest

    pytest.importorskip("townlet.strategies")
    result = cli("validate", "--strategy", "bcc", env={"TOWNLET_DISABLE_PLUGINS": "bc"})
    assert result.returncode == 2
    assert "Did you mean 'bc'? 'bc' belongs to townlet-strategies, which is installed" in (
        result.stderr
    )
    assert "TOWNLET_DISABLE_PLUGINS='bc'" in result.stderr
    assert "pip install" not in result.stderr


def test_no_scenarios_enabled_is_not_no_scenarios_installed(cli) -> None:
    import pytest

    pytest.importorskip("townlet.scenarios")
    from townlet.core.catalogue import FIRST_PARTY

    every = ",".join(FIRST_PARTY["scenarios"])
    result = cli("scenarios", "list", env={"TOWNLET_DISABLE_PLUGINS": every})
    assert result.returncode == 0, result.stderr
    assert "No scenarios are available. Scenarios belong to townlet-scenarios, which is " in (
        result.stdout
    )
    assert "No scenarios are installed" not in result.stdout
    assert "pip install" not in result.stdout


def test_a_third_party_plugin_named_like_a_built_in(cli, make_dist) -> None:
    """A bare name selects the built-in everywhere, with a warning naming both; the
    third-party one is reached by its qualified name."""
    site = make_dist(
        "acme-rewards",
        entry_points={
            "townlet.reward_stages": {"clip": "townlet.core.rewards.guardrails:ClipStage"}
        },
    )
    checked = cli("validate", extra_path=site)  # the default config names 'clip'
    assert checked.returncode == 0, checked.stderr
    warning = (
        "the reward stage name 'clip' is registered by townlet-core 0.1.0 and by acme-rewards 1.0;"
        " using townlet-core's (write 'acme-rewards:clip' for the other)"
    )
    assert warning in checked.stderr
    ran = cli("run", "--ticks", "5", "--quiet", extra_path=site)
    assert ran.returncode == 0, ran.stderr
    assert warning in ran.stderr
    shown = cli("plugins", "show", "clip", extra_path=site)
    assert shown.returncode == 0, shown.stderr
    assert "clip — reward stage from acme-rewards 1.0" in shown.stdout
    assert "clip — reward stage from townlet-core" in shown.stdout
    assert "the bare name 'clip' selects this one; write 'townlet-core:clip'" in shown.stdout
    assert "the bare name 'clip' selects the other; write 'acme-rewards:clip'" in shown.stdout
    qualified = cli(
        "validate", "--set", "rewards.stages=[{name: 'acme-rewards:clip'}]", extra_path=site
    )
    assert qualified.returncode == 0, qualified.stderr
    assert "registered by" not in qualified.stderr


def test_docs_env_examples_name_real_scenarios() -> None:
    import re

    from townlet.core.catalogue import FIRST_PARTY

    text = (Path(__file__).resolve().parents[1] / "docs" / "env.md").read_text()
    named = re.findall(r'scenario="([^"]+)"', text)
    assert named, "docs/env.md shows no scenario example"
    assert set(named) <= set(FIRST_PARTY["scenarios"])
