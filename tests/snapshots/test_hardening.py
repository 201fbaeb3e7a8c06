"""Refused snapshots change nothing; ranges, header, manifest and sizes are checked."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers import default_config, run_scripted
from tests.snapshots.test_snapshots import RICH, seal
from townlet.core.cli import townlet
from townlet.core.snapshots import SnapshotError, load_snapshot, read_snapshot, save_snapshot
from townlet.core.world.invariants import violations
from townlet.core.world.persist import StateMismatch, restore
from townlet.core.world.world import World


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def repack(
    src: Path,
    out: Path,
    *,
    header: dict[str, Any] | None = None,
    arrays=None,
    state=None,
    raw: dict[str, bytes] | None = None,
) -> Path:
    """Write ``src`` with edited members (``raw``: exact bytes), resealed (sizes, checksum)."""
    m = members(src)
    head = json.loads(m["header.json"])
    head.update(header or {})
    if arrays is not None:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        m["arrays.npz"] = buf.getvalue()
    if state is not None:
        m["state.json"] = json.dumps(state).encode()
    m.update(raw or {})
    head["sizes"] = {"arrays.npz": len(m["arrays.npz"]), "state.json": len(m["state.json"])}
    if isinstance(head.get("schema_version"), int) and head["schema_version"] < 3:
        head["checksum"] = hashlib.sha256(m["arrays.npz"] + m["state.json"]).hexdigest()
    else:
        head["checksum"] = seal(m["arrays.npz"], m["state.json"], head)
    m["header.json"] = json.dumps(head).encode()
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in m.items():
            zf.writestr(name, blob)
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = World.from_config(default_config(*RICH))
    run_scripted(w, 300)
    return save_snapshot(w, tmp_path_factory.mktemp("snap") / "base.townlet")


@pytest.fixture
def target() -> World:
    w = World.from_config(default_config(*RICH))
    run_scripted(w, 40)
    return w


def persisted(w: World) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in w.agents.__dict__.items() if isinstance(v, np.ndarray)}


def refused_unchanged(w: World, path: Path, match: str) -> None:
    before, arrays = w.state_hash(), persisted(w)
    with pytest.raises(SnapshotError, match=match or None):
        load_snapshot(w, path)
    assert w.state_hash() == before
    for name, arr in persisted(w).items():
        assert np.array_equal(arr, arrays[name]), name


def loaded(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    snap = read_snapshot(path)
    return dict(snap.arrays), json.loads(json.dumps(snap.state))


def garbled(value: Any) -> Any:
    """A value of the same JSON kind with contents no part can take."""
    if isinstance(value, list):
        return [{"bad": 1}]
    if isinstance(value, dict):
        return {"bad": [1]}
    return value


@pytest.mark.parametrize("section", ["rng", "perturbations", "economy", "social", "lifecycle"])
def test_nested_state_errors_leave_the_world_unchanged(base, target, section) -> None:
    arrays, state = loaded(base)
    state[section] = {k: garbled(v) for k, v in state[section].items()}
    before, kept = target.state_hash(), persisted(target)
    with pytest.raises(StateMismatch):
        restore(target, arrays, state)
    assert target.state_hash() == before
    for name, arr in persisted(target).items():
        assert np.array_equal(arr, kept[name]), name


@pytest.mark.parametrize("tick", [-1, 1.5])
def test_bad_ticks_are_refused(base, target, tick) -> None:
    arrays, state = loaded(base)
    state["world"]["tick"] = tick
    before = target.state_hash()
    with pytest.raises(StateMismatch, match="tick"):
        restore(target, arrays, state)
    assert target.state_hash() == before


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("agents.xy", 500, "agents.xy"),
        ("agents.job", 999, "agents.job"),
        ("agents.aff", 999, "agents.aff"),
        ("agents.option", 99, "agents.option"),
        ("agents.queue_obj", 10**6, "agents.queue_obj"),
        ("agents.desk", 10**6, "agents.desk"),
        ("agents.tie_other", 10**4, "agents.tie_other"),
        ("objects.holder", 10**4, "objects.holder"),
        ("agents.needs", 2.0, "agents.needs"),
        ("agents.needs", np.nan, "NaN"),
    ],
)
def test_out_of_range_values_are_refused(base, target, tmp_path, name, value, match) -> None:
    arrays, _ = loaded(base)
    arrays[name] = arrays[name].copy()
    arrays[name].flat[0] = value
    refused_unchanged(target, repack(base, tmp_path / "range.townlet", arrays=arrays), match)


def test_header_is_covered_by_the_checksum(base, target, tmp_path) -> None:
    m = members(base)
    head = json.loads(m["header.json"])
    head["tick"] = 7
    m["header.json"] = json.dumps(head).encode()
    out = tmp_path / "h.townlet"
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in m.items():
            zf.writestr(name, blob)
    refused_unchanged(target, out, "checksum mismatch")


@pytest.mark.parametrize(
    ("version", "match"),
    [("2", "not a version number"), (1, "contents are newer"), (2, "contents are newer")],
)
def test_schema_version_lies_are_refused(base, target, tmp_path, version, match) -> None:
    refused_unchanged(
        target, repack(base, tmp_path / "v.townlet", header={"schema_version": version}), match
    )


def test_changed_affordance_manifest_is_refused_unless_migrate(base, target, tmp_path) -> None:
    path = repack(base, tmp_path / "m.townlet", header={"affordances_checksum": "f" * 16})
    refused_unchanged(target, path, f"'{'f' * 16}'.*{target.affordances.checksum}.*--migrate")
    load_snapshot(target, path, migrate=True)
    assert target.tick == 300


def test_members_larger_than_declared_are_refused(base, tmp_path) -> None:
    m = members(base)
    head = json.loads(m["header.json"])
    head["sizes"]["state.json"] = 10
    head["checksum"] = seal(m["arrays.npz"], m["state.json"], head)
    m["header.json"] = json.dumps(head).encode()
    out = tmp_path / "big.townlet"
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in m.items():
            zf.writestr(name, blob)
    with pytest.raises(SnapshotError, match="larger than"):
        read_snapshot(out)


@pytest.mark.parametrize("sizes", [None, {"arrays.npz": -5}, {"arrays.npz": 10**15}, "big"])
def test_undeclared_or_unbounded_member_sizes_are_refused_before_reading(
    base, tmp_path, sizes
) -> None:
    m = members(base)
    head = json.loads(m["header.json"])
    if sizes is None:
        del head["sizes"]
    elif isinstance(sizes, dict):
        head["sizes"] = {**head["sizes"], **sizes}
    else:
        head["sizes"] = sizes
    head["checksum"] = seal(m["arrays.npz"], m["state.json"], head)
    m["header.json"] = json.dumps(head).encode()
    m["arrays.npz"] = b"\0" * (8 << 20)  # a bomb: inflates far beyond the real member
    out = tmp_path / "bomb.townlet"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in m.items():
            zf.writestr(name, blob)
    with pytest.raises(SnapshotError, match="header sizes"):
        read_snapshot(out)


def test_compressed_arrays_inside_the_archive_are_refused(base, tmp_path) -> None:
    """An npz member can be a bomb of its own: 64 MiB of zeros in a few hundred KB,
    under declared sizes and a valid checksum."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as npz:
        npy = io.BytesIO()
        np.lib.format.write_array(npy, np.zeros(8 << 20))
        npz.writestr("bomb.npy", npy.getvalue())
    bomb = repack(base, tmp_path / "inner.townlet", raw={"arrays.npz": buf.getvalue()})
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(SnapshotError, match="compressed"):
        read_snapshot(bomb)


def test_stale_temp_files_are_cleaned_at_the_next_write(target, tmp_path) -> None:
    old, young = tmp_path / ".s.townlet.abc_1234.tmp", tmp_path / ".s.townlet.def_5678.tmp"
    earlier = tmp_path / ".snapshot-00000100.townlet.x9y8z7w6.tmp"  # another target's orphan
    other = tmp_path / ".unrelated.tmp"
    for f in (old, young, earlier, other):
        f.write_bytes(b"x")
    for f in (old, earlier, other):
        os.utime(f, (0, 0))
    save_snapshot(target, tmp_path / "s.townlet")
    assert not old.exists() and not earlier.exists()
    assert young.exists() and other.exists()


def mutants(base: Path, tmp: Path, n: int) -> list[Path]:
    gen = np.random.default_rng(20)

    def pick(seq: list[Any]) -> Any:
        return seq[int(gen.integers(len(seq)))]

    def below(n: int) -> int:
        return int(gen.integers(n))

    blob = base.read_bytes()
    arrays, state = loaded(base)
    pool: list[Any] = [None, -1, 0, 1.5, 1e18, "2", [], {}, [[[]]], True, float("inf")]

    def npz(**named: Any) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, **named)
        return buf.getvalue()

    first = sorted(arrays)[0]
    deep = b"[" * 5000 + b"]" * 5000
    odd_members: list[dict[str, bytes]] = [
        {"state.json": deep},
        {"state.json": b"\xff\xfe not utf-8"},
        {"state.json": b'{"world": 5}'},
        {"state.json": b"[]"},
        {"arrays.npz": npz(**{**arrays, first: np.array([{"x": 1}], dtype=object)})},
        {"arrays.npz": npz(**{**arrays, first: np.array(["text"])})},
        {"arrays.npz": npz(**{k: v for k, v in arrays.items() if k != first})},
        {"arrays.npz": npz(**arrays, **{"agents.extra": np.zeros(3)})},
        {"arrays.npz": b"PK\x03\x04 not a zip"},
    ]
    out = []
    for i in range(n):
        p = tmp / f"m{i}.townlet"
        kind = i % 8
        if kind == 0:
            data = bytearray(blob)
            data[below(len(data))] ^= 1 << below(8)
            p.write_bytes(bytes(data))
        elif kind == 1:
            p.write_bytes(blob[: below(len(blob))])
        elif kind == 2:
            m = members(base)
            a, b = (pick(sorted(m)) for _ in range(2))
            m[a], m[b] = m[b], m[a]
            with zipfile.ZipFile(p, "w") as zf:
                for name, data_ in m.items():
                    zf.writestr(name, data_)
        elif kind in (3, 4):
            arr = dict(arrays)
            name = pick(sorted(arr))
            x = arr[name]
            choice = below(3)
            if choice == 0:
                arr[name] = np.zeros((*x.shape, 2), x.dtype)
            elif choice == 1:
                arr[name] = x.astype(pick([np.float64, np.int8, np.uint64, np.bool_]))
            elif x.size:
                y = x.copy()
                y.flat[below(x.size)] = np.asarray(pick([-3, 2, 10**4, 127])).astype(x.dtype)
                arr[name] = y
            repack(base, p, arrays=arr)
        elif kind == 5:
            repack(
                base,
                p,
                header={
                    pick(
                        ["tick", "schema_version", "counts", "policy", "config_id", "format"]
                    ): pick(pool)
                },
            )
        elif kind == 6:
            st = json.loads(json.dumps(state))
            section = pick(sorted(st))
            key = pick(sorted(st[section]))
            st[section][key] = pick(pool)
            repack(base, p, state=st)
        else:  # whole members of the wrong kind, or a deeply nested header value
            choice = below(len(odd_members) + 1)
            if choice < len(odd_members):
                repack(base, p, raw=odd_members[choice])
            else:
                value: Any = 0
                for _ in range(200):
                    value = [value]
                repack(base, p, header={pick(["observation", "counts", "policy"]): value})
        out.append(p)
    return out


def test_mutation_fuzz_refuses_cleanly_or_restores_a_sound_world(base, target, tmp_path) -> None:
    runner = CliRunner()
    counts = {"refused": 0, "restored": 0}
    messages: set[bool] = set()
    for path in mutants(base, tmp_path, 320):
        result = runner.invoke(townlet, ["snapshot", "inspect", str(path)])
        assert result.exit_code in (0, 2), (path, result.output, result.exception)
        result = runner.invoke(townlet, ["snapshot", "diff", str(base), str(path)])
        assert result.exit_code in (0, 1, 2), (path, result.output, result.exception)
        before = target.state_hash()
        try:
            load_snapshot(target, path)
        except SnapshotError as exc:
            counts["refused"] += 1
            messages.add(bool(str(exc).strip()))
            assert target.state_hash() == before
            continue
        counts["restored"] += 1
        assert violations(target) == []
        run_scripted(target, 2)
    # 267 refused and 53 restored with this seed (docs/snapshots.md)
    assert counts["refused"] > 200 and counts["restored"] > 0, counts
    assert messages == {True}  # every refusal says why
