"""`townlet scenarios list|show|check`, `townlet run --scenario`, a third-party pack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from townlet.core.env import TownletParallelEnv
from townlet.core.registry import Registry
from townlet.core.scenario import resolve_scenario

pytest.importorskip("townlet.scenarios")


def test_list_shows_every_scenario_with_its_facts(cli) -> None:
    result = cli("scenarios", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["queue_conflict"]["agents"] == 3
    assert rows["queue_conflict"]["ticks"] == 600
    assert "timeline 3" in rows["queue_conflict"]["features"]
    assert rows["m2_5_conflict"]["features"].startswith("M2.5, relationships A")
    assert rows["blackout"]["exercises"] and rows["blackout"]["baseline"] is True
    text = cli("scenarios", "list").stdout
    assert "exit_storm  (townlet-scenarios 0.1.0)" in text
    assert "exercises: lifecycle: exit cap and cooldown" in text


def test_show_prints_timeline_and_baseline(cli) -> None:
    result = cli("scenarios", "show", "blackout")
    assert result.returncode == 0, result.stderr
    assert "300  blackout state=on" in result.stdout
    assert "first_off_tick.power" in result.stdout and "band [300, 300]" in result.stdout


def test_unknown_scenario_suggests_the_nearest(cli) -> None:
    result = cli("scenarios", "show", "blakout")
    assert result.returncode == 2
    assert "Did you mean 'blackout'?" in result.stderr


def test_check_passes_and_reports_each_figure(cli) -> None:
    result = cli("scenarios", "check", "blackout", "queue_conflict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "blackout: pass (seed 0, 600 ticks)" in result.stdout
    assert "ok   conflicts_at.shower" in result.stdout


def test_listing_and_checking_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from townlet.core.cli import townlet\n"
        "r = CliRunner().invoke(townlet, ['scenarios', 'list'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(townlet, ['scenarios', 'check', 'price_shock'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'torch' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_run_scenario_applies_its_timeline_and_audits_it(cli, tmp_path: Path) -> None:
    result = cli("run", "--scenario", "blackout", "--ticks", "310", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ticks"] == 310
    audit = [json.loads(x) for x in (tmp_path / "console_audit.jsonl").read_text().splitlines()]
    assert [(a["tick"], a["command"], a["args"]) for a in audit] == [
        (300, "blackout", {"state": "on"})
    ]


def test_run_scenario_defaults_to_its_length(cli, tmp_path: Path) -> None:
    result = cli("run", "--scenario", "kitchen_breakfast", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ticks"] == 400


def test_parallel_env_runs_a_scenario_with_its_timeline() -> None:
    env = TownletParallelEnv(scenario="blackout", horizon=400)
    env.reset(seed=0)
    for _ in range(301):
        env.step(dict.fromkeys(env.agents, 0))
    world = env.town.world
    assert world is not None and world.timeline is not None
    assert not world.utility_on[0]
    assert [(e.command, r.ok) for e, r in world.timeline.applied] == [("blackout", True)]


def test_a_config_may_extend_a_scenario(tmp_path: Path) -> None:
    from townlet.core.config import load_config

    path = tmp_path / "mine.yaml"
    path.write_text("extends: scenario:queue_conflict\nconfig_id: mine\nseed: 3\n")
    cfg = load_config(path).config
    assert cfg.world.agents == 3 and len(cfg.timeline) == 3 and cfg.seed == 3


@pytest.mark.usefixtures("with_example_scenario")
def test_third_party_scenario_pack_is_selectable() -> None:
    registry = Registry()
    s = resolve_scenario("rush_hour", registry=registry)
    assert s.config.config_id == "rush_hour" and len(s.config.timeline) == 4
    assert registry.find("scenarios", "rush_hour").dist == "townlet-example-scenario"
    assert s.baseline_path is None


def test_third_party_pack_runs_from_the_cli(cli, example_scenario_site: Path, tmp_path) -> None:
    listed = cli("scenarios", "list", extra_path=example_scenario_site)
    assert "rush_hour  (townlet-example-scenario 0.1.0)" in listed.stdout
    ran = cli(
        "run", "--scenario", "rush_hour", "--json", extra_path=example_scenario_site, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["ticks"] == 600
    assert len((tmp_path / "console_audit.jsonl").read_text().splitlines()) == 4
    checked = cli("scenarios", "check", "rush_hour", extra_path=example_scenario_site)
    assert checked.returncode == 1 and "'rush_hour' has no golden baseline" in checked.stderr


def test_readme_main_job_shows_social_life(cli, tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    line = next(x for x in readme.splitlines() if "# the main job" in x)
    args = line.split("#")[0].split()[1:]
    assert args[:2] == ["run", "--scenario"]
    if "--days" in args:  # shorter here: --ticks replaces it (the two exclude each other)
        del args[args.index("--days") : args.index("--days") + 2]
    result = cli(*args, "--ticks", "1000", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    kpis = json.loads(result.stdout)["kpis"]
    assert kpis["relationship_formation"] > 0.3
    assert kpis["chats"] > 0 and kpis["shared_meals"] > 0
