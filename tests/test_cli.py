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
