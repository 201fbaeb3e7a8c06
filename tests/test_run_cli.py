"""`townlet run`: the main job."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml


def test_run_prints_kpi_summary(cli) -> None:
    result = cli("run", "--ticks", "300", "--quiet")
    assert result.returncode == 0, result.stderr
    for label in (
        "self-sufficiency",
        "attendance",
        "lateness",
        "meals eaten",
        "showers",
        "ghost steps",
        "mean wait",
        "money flow",
        "ticks/s",
    ):
        assert label in result.stdout


def test_run_json_and_seed(cli) -> None:
    a = json.loads(cli("run", "--ticks", "200", "--seed", "3", "--json").stdout)
    b = json.loads(cli("run", "--ticks", "200", "--seed", "3", "--json").stdout)
    assert a["ticks"] == 200
    assert a["kpis"] == b["kpis"] and a["money"] == b["money"]
    assert a["kpis"]["population"] == 8


def test_ctrl_c_stops_cleanly_with_a_summary() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "townlet.core", "run", "--ticks", "10000000", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "interrupted" in out
    assert "self-sufficiency" in out


def test_bad_town_file_is_a_clear_error(cli, tmp_path: Path) -> None:
    from townlet.core.config import resolve_source

    default_town = resolve_source("builtin:default").parent.parent / "towns" / "default.yaml"
    doc = yaml.safe_load(default_town.read_text())
    doc["objects"][0]["at"] = [1, 1]  # a wall
    (tmp_path / "town.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "run.yaml").write_text("extends: builtin:default\nworld: {town: town.yaml}\n")
    result = cli("run", str(tmp_path / "run.yaml"), "--ticks", "10", "--quiet")
    assert result.returncode == 2
    assert (
        f"{tmp_path / 'town.yaml'}: object 'home_a.bed_1' at (1, 1) is inside a wall"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_unknown_policy_lists_installed(cli) -> None:
    result = cli("run", "--policy", "scriptd", "--ticks", "5", "--quiet")
    assert result.returncode == 2
    assert "Did you mean 'scripted'?" in result.stderr
    assert "scripted (townlet-core" in result.stderr


def test_each_due_snapshot_is_written_once(tmp_path: Path, monkeypatch) -> None:
    from townlet.core import sim as sim_module
    from townlet.core.config import load_config

    written: list[Path] = []
    save = sim_module.save_snapshot

    def counting_save(world, path, **kwargs):
        written.append(Path(path))
        return save(world, path, **kwargs)

    monkeypatch.setattr(sim_module, "save_snapshot", counting_save)
    sim = sim_module.Simulation(load_config().config)
    sim.run(30, snapshot_every=10, snapshot_dir=tmp_path)
    assert [p.name for p in written] == [f"snapshot-{t:08d}.townlet" for t in (10, 20, 30)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in written]
