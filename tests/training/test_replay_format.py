"""Replay samples on disk: round trips, atomic writes, and every refusal."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.training.helpers import make_arrays, make_meta, small_spec, write
from townlet.core.training import (
    ReplayError,
    _npz,
    append_to_manifest,
    check_sample,
    load_sample,
    read_manifest,
    write_sample,
)
from townlet.core.training._npz import write_atomic
from townlet.core.training.replay_format import manifest_samples

SPEC = small_spec()


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert set(a) == set(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


# -- round trips ---------------------------------------------------------------


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
    extras=st.sets(st.sampled_from(["values", "logprobs", "episode", "town", "row", "tick"])),
    compress=st.booleans(),
    mmap=st.booleans(),
)
def test_round_trip(
    tmp_path: Path, n: int, seed: int, extras: set[str], compress: bool, mmap: bool
) -> None:
    arrays = make_arrays(SPEC, n, seed, extras=tuple(sorted(extras)))
    sidecar = write_sample(tmp_path / "s", arrays, make_meta(SPEC, episodes=2), compress=compress)
    sample = load_sample(tmp_path / "s.npz", mmap=mmap)
    assert_same(arrays, sample.arrays)
    assert sample.sidecar == sidecar
    assert sidecar.counts.transitions == n
    assert sidecar.counts.decisions == int((arrays["acted"] & ~arrays["possessed"]).sum())
    assert sidecar.counts.episodes == 2
    assert sidecar.spec.hash == SPEC.hash


def test_sidecar_records_the_spec_and_counts(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC, n=20)
    obj = json.loads((tmp_path / "s.json").read_text())
    assert obj["schema_version"] == "1.0"
    assert obj["spec"]["hash"] == SPEC.hash
    assert obj["spec"]["components"][1]["features"][1] == "queue.waiting"
    assert obj["arrays"]["obs.map"] == {"shape": [20, 2, 3, 3], "dtype": "float32"}
    assert obj["counts"]["transitions"] == 20
    assert obj["config_id"] == "test"
    assert obj["episodes"][0]["metrics"]["queue_conflict_events"] == 2.0


def test_uncompressed_samples_are_memory_mapped(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    sample = load_sample(tmp_path / "s", mmap=True)
    assert isinstance(sample.arrays["obs.map"], np.memmap)
    assert not sample.arrays["obs.map"].flags.writeable


# -- writing -------------------------------------------------------------------


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    write(tmp_path / "s", SPEC, seed=1)  # overwriting is atomic too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "s.npz"]


def test_a_failed_write_leaves_no_complete_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "s", SPEC)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_npz, "save_atomic", broken)
    with pytest.raises(OSError, match="disk full"):
        write(tmp_path / "s", SPEC, seed=1)
    with pytest.raises(ReplayError, match="sidecar is missing"):
        check_sample(tmp_path / "s")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("masks"), "masks: missing"),
        (lambda a: a.update(extra=np.zeros(50)), "extra: not an array of the format"),
        (lambda a: a.update(actions=a["actions"].astype(np.int32)), "actions: dtype int32"),
        (lambda a: a.update({"obs.map": a["obs.map"][:, :1]}), r"obs.map: shape \[1, 3, 3\]"),
        (lambda a: a.update(rewards=a["rewards"][:10]), "disagree on the number of transitions"),
        (lambda a: a["actions"].__setitem__(0, 7), r"actions: values outside 0..6"),
        (lambda a: a["rewards"].__setitem__(0, np.nan), "rewards: NaN"),
        (lambda a: a.update(values=a["values"].astype(np.float64)), "values: dtype float64"),
    ],
)
def test_write_refuses_bad_arrays(tmp_path: Path, change: Any, message: str) -> None:
    arrays = make_arrays(SPEC, 50)
    change(arrays)
    with pytest.raises(ReplayError, match=message):
        write_sample(tmp_path / "s", arrays, make_meta(SPEC))
    assert list(tmp_path.iterdir()) == []


# -- reading refusals ----------------------------------------------------------


def test_garbage_npz_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    (tmp_path / "s.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ReplayError, match=r"s\.npz: not a readable NPZ file"):
        load_sample(tmp_path / "s")


def test_truncated_npz_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    data = (tmp_path / "s.npz").read_bytes()
    (tmp_path / "s.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReplayError, match="not a readable NPZ file"):
        check_sample(tmp_path / "s")


def test_flipped_bits_in_array_data_are_caught_on_load(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC, n=200)
    path = tmp_path / "s.npz"
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("obs.map.npy")
    data = bytearray(path.read_bytes())
    data[info.header_offset + 200 + info.file_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    check_sample(path)  # headers are intact
    with pytest.raises(ReplayError, match=r"not a readable NPZ file.*CRC"):
        load_sample(path)


def test_truncated_sidecar_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    text = (tmp_path / "s.json").read_text()
    (tmp_path / "s.json").write_text(text[: len(text) // 2])
    with pytest.raises(ReplayError, match=r"s\.json: sidecar is not valid JSON \(truncated\?\)"):
        load_sample(tmp_path / "s")


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    obj = json.loads((tmp_path / "s.json").read_text())
    obj["schema_version"] = "9.0"
    (tmp_path / "s.json").write_text(json.dumps(obj))
    with pytest.raises(ReplayError, match=r"schema_version: unknown replay schema version '9\.0'"):
        load_sample(tmp_path / "s")


def test_sidecar_with_a_bad_field_names_it(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    obj = json.loads((tmp_path / "s.json").read_text())
    obj["counts"]["transitions"] = -1
    (tmp_path / "s.json").write_text(json.dumps(obj))
    with pytest.raises(ReplayError, match=r"s\.json: counts\.transitions"):
        check_sample(tmp_path / "s")


def test_npz_without_sidecar_is_incomplete(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    (tmp_path / "s.json").unlink()
    with pytest.raises(ReplayError, match="sidecar is missing"):
        load_sample(tmp_path / "s.npz")


def test_sidecar_without_npz_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    (tmp_path / "s.npz").unlink()
    with pytest.raises(ReplayError, match="NPZ file is missing"):
        load_sample(tmp_path / "s.json")


def test_npz_swapped_under_a_sidecar_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "a", SPEC, n=50)
    write(tmp_path / "b", SPEC, n=60)
    (tmp_path / "b.npz").replace(tmp_path / "a.npz")
    with pytest.raises(ReplayError, match="NPZ does not match the sidecar's arrays"):
        load_sample(tmp_path / "a")


def test_counts_that_disagree_with_the_data_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "s", SPEC)
    obj = json.loads((tmp_path / "s.json").read_text())
    obj["counts"]["decisions"] += 1
    (tmp_path / "s.json").write_text(json.dumps(obj))
    with pytest.raises(ReplayError, match="counts: the arrays do not match"):
        load_sample(tmp_path / "s")


# -- manifests -----------------------------------------------------------------


def test_manifest_lists_samples_with_hashes(tmp_path: Path) -> None:
    for i in range(3):
        write(tmp_path / f"s{i}", SPEC, n=10 + i, seed=i)
        manifest = append_to_manifest(tmp_path, tmp_path / f"s{i}")
    append_to_manifest(tmp_path / "manifest.json", tmp_path / "s1.npz")  # listed once
    manifest = read_manifest(tmp_path)
    assert [e.path for e in manifest.samples] == ["s0.npz", "s2.npz", "s1.npz"]
    assert manifest.spec_hash == SPEC.hash
    assert manifest.transitions == 33
    assert all(len(e.sha256) == 64 for e in manifest.samples)
    assert manifest_samples(tmp_path) == [tmp_path / p for p in ("s0.npz", "s2.npz", "s1.npz")]


def test_manifest_refuses_another_spec(tmp_path: Path) -> None:
    write(tmp_path / "a", SPEC)
    append_to_manifest(tmp_path, tmp_path / "a")
    write(tmp_path / "b", small_spec(scalars=5))
    with pytest.raises(ReplayError, match=r"b\.npz: spec\.hash .* != manifest"):
        append_to_manifest(tmp_path, tmp_path / "b")
    assert len(read_manifest(tmp_path).samples) == 1


def test_manifest_refuses_an_incomplete_sample(tmp_path: Path) -> None:
    write(tmp_path / "a", SPEC)
    (tmp_path / "a.json").unlink()
    with pytest.raises(ReplayError, match="sidecar is missing"):
        append_to_manifest(tmp_path, tmp_path / "a")
    assert not (tmp_path / "manifest.json").exists()


def _manifest_with_two(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write(tmp_path / name, SPEC, seed=len(name))
        append_to_manifest(tmp_path, tmp_path / name)


def test_manifest_naming_a_missing_file_is_refused(tmp_path: Path) -> None:
    _manifest_with_two(tmp_path)
    (tmp_path / "b.npz").unlink()
    with pytest.raises(ReplayError, match=r"samples\[1\] b\.npz: file b\.npz is missing"):
        manifest_samples(tmp_path)


def test_manifest_detects_changed_files(tmp_path: Path) -> None:
    _manifest_with_two(tmp_path)
    write(tmp_path / "a", SPEC, seed=99)  # same size, other content
    with pytest.raises(ReplayError, match="sha256 does not match"):
        manifest_samples(tmp_path)
    assert manifest_samples(tmp_path, verify=False)
    write(tmp_path / "a", SPEC, n=10)
    with pytest.raises(ReplayError, match="bytes: "):
        manifest_samples(tmp_path, verify=False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema_version": "1.0", "samples": [', "manifest is not valid JSON"),
        ('{"schema_version": "0.1", "samples": []}', "unknown replay schema version '0.1'"),
        ('{"schema_version": "1.0", "samples": [{"path": "a.npz"}]}', r"samples\.0\.sidecar"),
        ("[]", "must be a JSON object"),
    ],
)
def test_bad_manifests_are_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(ReplayError, match=message):
        read_manifest(tmp_path)


def test_a_loaded_sidecar_can_serve_as_meta(tmp_path: Path) -> None:
    write(tmp_path / "a", SPEC)
    sidecar = load_sample(tmp_path / "a").sidecar
    again = write_sample(tmp_path / "b", make_arrays(SPEC, 5), sidecar)
    assert again.counts.transitions == 5 and again.spec == sidecar.spec


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644
