"""Snapshots: exact resume, refusals that change nothing, migrations, CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import default_config, run_scripted
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.snapshots import (
    SCHEMA_VERSION,
    SnapshotError,
    load_snapshot,
    read_snapshot,
    save_snapshot,
)
from townlet.core.world.invariants import violations
from townlet.core.world.world import World

FIXTURES = Path(__file__).parent / "fixtures"
RICH = (
    "features.lifecycle=true",
    "features.stages.relationships=C",
    "world.perturbations.enabled=true",
    "world.perturbations.blackout.probability_per_day=3",
    "world.perturbations.facility_closure.probability_per_day=3",
)


def world(*overrides: str) -> World:
    return World.from_config(default_config(*overrides))


def stepper(w: World):
    policy = ScriptedPolicy(ScriptedPolicyParams())
    policy.reset(w, w.rng.policy)
    return lambda: w.step(policy.act(w))


def run_with_events(w: World, ticks: int) -> list:
    step = stepper(w)
    stream = []
    for _ in range(ticks):
        step()
        stream.append((w.tick, [dict(e) for e in w.events], list(w.narrator.lines)))
    return stream


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10_000), cut=st.integers(1, 799))
def test_resume_equals_uninterrupted(tmp_path: Path, seed: int, cut: int) -> None:
    whole = world(f"seed={seed}", *RICH)
    expected = run_with_events(whole, 800)
    first = world(f"seed={seed}", *RICH)
    head = run_with_events(first, cut)
    path = save_snapshot(first, tmp_path / f"s{seed}-{cut}.townlet")
    second = world(f"seed={seed}", *RICH)
    load_snapshot(second, path)
    assert second.state_hash() == first.state_hash()
    tail = run_with_events(second, 800 - cut)
    assert head + tail == expected
    assert second.state_hash() == whole.state_hash()


def test_mid_affordance_and_mid_queue_resume_in_a_new_process(tmp_path: Path) -> None:
    whole = world("seed=5", *RICH)
    expected = run_with_events(whole, 2000)
    first = world("seed=5", *RICH)
    run_with_events(first, 1000)
    a = first.agents
    assert (a.aff >= 0).any() or (a.queue_obj >= 0).any()
    path = save_snapshot(first, tmp_path / "mid.townlet")
    script = (
        "import json, sys\n"
        "from tests.helpers import default_config\n"
        "from townlet.core.world.world import World\n"
        "from townlet.core.snapshots import load_snapshot\n"
        "from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams\n"
        f"w = World.from_config(default_config('seed=5', *{RICH!r}))\n"
        "load_snapshot(w, sys.argv[1])\n"
        "p = ScriptedPolicy(ScriptedPolicyParams()); p.reset(w, w.rng.policy)\n"
        "out = []\n"
        "for _ in range(1000):\n"
        "    w.step(p.act(w)); out.append([w.tick, w.events, w.narrator.lines])\n"
        "print(json.dumps({'hash': w.state_hash(), 'events': out}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["hash"] == whole.state_hash()
    assert doc["events"] == json.loads(json.dumps([list(e) for e in expected[1000:]]))


def corrupt(path: Path, out: Path, how: str) -> Path:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2]
    else:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("state.json")
        data[info.header_offset + 60] ^= 0xFF  # inside the stored member
    out.write_bytes(bytes(data))
    return out


def seal(arrays_blob: bytes, state_blob: bytes, header: dict) -> str:
    """The checksum a header needs over this body and itself (schema version 3)."""
    rest = {k: v for k, v in header.items() if k != "checksum"}
    h = hashlib.sha256(arrays_blob + state_blob)
    h.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def rewrite(path: Path, out: Path, **header_changes) -> Path:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    header = json.loads(members["header.json"])
    header.update(header_changes)
    if "checksum" not in header_changes:  # resealed, as a tool that knows the format would
        header["checksum"] = seal(members["arrays.npz"], members["state.json"], header)
    members["header.json"] = json.dumps(header).encode()
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return out


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    w = world("seed=2")
    run_scripted(w, 400)
    return save_snapshot(w, tmp_path / "good.townlet")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, t: corrupt(p, t / "cut.townlet", "truncate"), "truncated or not a snapshot"),
        (lambda p, t: corrupt(p, t / "flip.townlet", "flip"), "corrupted|checksum mismatch"),
        (
            lambda p, t: rewrite(p, t / "new.townlet", schema_version=SCHEMA_VERSION + 1),
            "newer than this townlet reads",
        ),
        (
            lambda p, t: rewrite(p, t / "other.townlet", config_id="elsewhere"),
            "config_id 'elsewhere'.*--migrate",
        ),
        (lambda p, t: rewrite(p, t / "sum.townlet", checksum="0" * 64), "checksum mismatch"),
        (lambda p, t: t / "missing.townlet", "no such snapshot file"),
    ],
)
def test_bad_snapshots_are_refused_and_change_nothing(saved, tmp_path, make, message) -> None:
    target = world("seed=9")
    run_scripted(target, 50)
    before = target.state_hash()
    with pytest.raises(SnapshotError, match=message):
        load_snapshot(target, make(saved, tmp_path))
    assert target.state_hash() == before
    run_scripted(target, 10)  # still a working world


def test_other_config_id_loads_with_migrate(saved: Path, tmp_path: Path) -> None:
    target = world("config_id=renamed")
    snap = load_snapshot(target, saved, migrate=True)
    assert target.tick == snap.header["tick"] == 400


def test_snapshot_of_another_shape_is_refused_whole(saved: Path) -> None:
    target = world("world.agents=6")
    before = target.state_hash()
    with pytest.raises(SnapshotError, match="does not fit this world"):
        load_snapshot(target, saved)
    assert target.state_hash() == before


def test_v1_fixture_migrates_to_the_current_schema() -> None:
    path = FIXTURES / "v1_default_seed11_tick300.townlet"
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("header.json"))["schema_version"] == 1
    snap = read_snapshot(path)
    assert snap.header["schema_version"] == SCHEMA_VERSION
    assert (snap.arrays["agents.stall_until"] == 0).all()
    target = world("seed=11")
    load_snapshot(target, path)
    assert target.tick == 300
    run_scripted(target, 300, lambda w: None)
    assert violations(target) == []


def test_v2_fixture_migrates_and_equals_a_run_to_the_same_tick() -> None:
    """Version 3 moved every per-slot array into the agent store; a version-2 snapshot
    (taken before) restores to exactly the state this townlet reaches itself."""
    path = FIXTURES / "v2_rich_seed11_tick600.townlet"
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("header.json"))["schema_version"] == 2
    snap = read_snapshot(path)
    assert snap.header["schema_version"] == SCHEMA_VERSION
    assert not any(name.startswith(("relations.", "lifecycle.", "kpi.")) for name in snap.arrays)
    assert "agents.stage" not in snap.arrays and "agents.tie_trust" in snap.arrays
    assert (snap.arrays["agents.tie_other"] >= 0).any()
    target = world("seed=11", *RICH)
    load_snapshot(target, path)
    fresh = world("seed=11", *RICH)
    run_scripted(fresh, 600)
    assert target.state_hash() == fresh.state_hash()


def test_writes_are_atomic(tmp_path: Path, monkeypatch) -> None:
    w = world()
    path = save_snapshot(w, tmp_path / "a.townlet")
    good = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("townlet.core.snapshots.os.replace", boom)
    run_scripted(w, 5)
    with pytest.raises(OSError, match="disk full"):
        save_snapshot(w, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["a.townlet"]


def test_cli_snapshot_every_resume_inspect_diff(cli, tmp_path: Path) -> None:
    snaps = tmp_path / "snaps"
    run = cli(
        "run", "--ticks", "400", "--quiet", "--snapshot-every", "200", "--snapshot-dir", str(snaps)
    )
    assert run.returncode == 0, run.stderr
    files = sorted(p.name for p in snaps.iterdir())
    assert files == ["snapshot-00000200.townlet", "snapshot-00000400.townlet"]
    shown = cli("snapshot", "inspect", str(snaps / files[0]))
    assert "tick             200" in shown.stdout and "(ok)" in shown.stdout
    same = cli("snapshot", "diff", str(snaps / files[0]), str(snaps / files[0]))
    assert (same.returncode, same.stdout.strip()) == (0, "identical")
    diff = cli("snapshot", "diff", str(snaps / files[0]), str(snaps / files[1]))
    assert diff.returncode == 1
    assert "header.tick: 200 != 400" in diff.stdout
    resumed = cli("run", "--ticks", "200", "--quiet", "--json", "--resume", str(snaps / files[0]))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stderr
    bad = tmp_path / "bad.townlet"
    bad.write_bytes((snaps / files[0]).read_bytes()[:100])
    refused = cli("snapshot", "inspect", str(bad))
    assert refused.returncode == 2
    assert "truncated" in refused.stderr
