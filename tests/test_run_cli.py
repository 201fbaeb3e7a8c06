"""`townlet run`: the main job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
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


def _start_run(*sinks: dict[str, object]) -> subprocess.Popen[str]:
    """``townlet run`` in a subprocess, printing a world line every 50 ticks to stdout."""
    every = json.dumps([{"name": "stdout", "params": {"every": 50}}, *sinks])
    return subprocess.Popen(
        [sys.executable, "-m", "townlet.core", "run", "--ticks", "10000000", "--quiet",
         "--seed", "1", "--set", f"telemetry.sinks={every}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _stop_when_ticking(proc: subprocess.Popen[str], sig: int) -> tuple[str, str]:
    """Send ``sig`` once the run prints its first world line (it is ticking then)."""
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("[t="), first + (proc.stderr.read() if proc.stderr else "")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return first + out, err


def test_ctrl_c_stops_cleanly_with_a_summary_and_exits_130() -> None:
    proc = _start_run()
    out, err = _stop_when_ticking(proc, signal.SIGINT)
    assert proc.returncode == 130, err
    assert "interrupted" in out and "self-sufficiency" in out
    assert "Traceback" not in err


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    """Summary printed, telemetry closed: the gzip log is whole and ends with the
    final health report the hub sends at stop."""
    import gzip

    pytest.importorskip("townlet.telemetry")
    log = tmp_path / "town.jsonl.gz"
    proc = _start_run({"name": "jsonl", "params": {"path": str(log), "gzip": True}})
    out, err = _stop_when_ticking(proc, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert "interrupted" in out and "self-sufficiency" in out
    assert "jsonl: stopped" in out
    lines = gzip.decompress(log.read_bytes()).splitlines()  # raises if the file is cut short
    assert json.loads(lines[-1])["payload_type"] == "health"
    from townlet.telemetry.logs import read_log
    from townlet.telemetry.validate import validate_lines

    report = validate_lines(read_log(log))  # what `townlet telemetry validate` checks
    assert report.ok, report.problems[:3]


def test_a_second_ctrl_c_is_not_held_back() -> None:
    """The first stop signal waits for the tick; the second forces the stop."""
    from townlet.core.cli._run_guard import StopSignals

    with StopSignals() as signals:
        signal.raise_signal(signal.SIGINT)
        assert signals() and signals.exit_code == 130
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


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


# -- run length, snapshot directory, resume --------------------------------------------


def test_ticks_with_days_is_a_usage_error(cli) -> None:
    result = cli("run", "--ticks", "5", "--days", "1", "--quiet")
    assert result.returncode == 2
    assert "give --ticks or --days, not both" in result.stderr


def test_days_that_round_to_no_tick_are_refused(cli) -> None:
    result = cli("run", "--days", "0.0001", "--quiet")
    assert result.returncode == 2
    assert "0.0001 sim days is less than one tick (a sim day is 1000 ticks)" in result.stderr


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_an_unusable_snapshot_dir_is_refused_before_the_run(
    cli, tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    target = blocker if where == "a file" else blocker / "snaps"
    result = cli(
        "run", "--ticks", "1000000", "--quiet", "--snapshot-every", "10",
        "--snapshot-dir", str(target),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Invalid value for '--snapshot-dir'" in result.stderr
    assert ("exists and is not a directory" if where == "a file" else "cannot create") in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_snapshot_write_that_fails_mid_run_is_reported_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk after two snapshots: warned once, the run ends normally, and the
    earlier snapshots are intact."""
    import errno

    from click.testing import CliRunner

    from townlet.core import sim as sim_module
    from townlet.core.cli import townlet
    from townlet.core.snapshots import read_snapshot

    save = sim_module.save_snapshot
    written: list[Path] = []

    def save_until_full(world, path, **kwargs):
        if len(written) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(save(world, path, **kwargs))
        return written[-1]

    monkeypatch.setattr(sim_module, "save_snapshot", save_until_full)
    result = CliRunner().invoke(
        townlet,
        ["run", "--ticks", "50", "--quiet", "--snapshot-every", "10", "--snapshot-dir",
         str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.count("Warning: cannot write a snapshot in") == 1
    assert "snapshots failed  3 (last: No space left on device)" in result.output
    assert "50 ticks" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in written]
    for path in written:
        read_snapshot(path)


def test_a_snapshot_rename_is_made_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stat

    from townlet.core.config import load_config
    from townlet.core.sim import Simulation

    synced: list[bool] = []
    fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    Simulation(load_config().config).save_snapshot(tmp_path)
    assert synced == [False, True]  # the file, then the directory holding its new name


@pytest.mark.parametrize("command", ["inspect", "diff", "resume"])
def test_a_directory_given_as_a_snapshot_is_one_message(cli, tmp_path: Path, command: str) -> None:
    args = {
        "inspect": ["snapshot", "inspect", str(tmp_path)],
        "diff": ["snapshot", "diff", str(tmp_path), str(tmp_path)],
        "resume": ["run", "--ticks", "5", "--quiet", "--resume", str(tmp_path)],
    }[command]
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    assert f"Error: {tmp_path}: not a regular file" in result.stderr
    assert "Traceback" not in result.stderr
