"""Replay datasets: checked together before loading, batched in memory or streamed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.training.helpers import make_arrays, make_meta, small_spec, write
from townlet.core.training import (
    ObsNormalizer,
    ReplayDataset,
    ReplayError,
    RunningMoments,
    append_to_manifest,
    write_sample,
)
from townlet.core.training import replay as replay_module

SPEC = small_spec()


def write_many(root: Path, count: int = 4, n: int = 40, **kwargs: Any) -> list[Path]:
    """Samples whose ``tick`` ids are unique over the whole set."""
    paths = []
    for i in range(count):
        arrays = make_arrays(SPEC, n, seed=i)
        arrays["tick"] = np.arange(i * n, (i + 1) * n, dtype=np.int64)
        write_sample(root / f"s{i}", arrays, make_meta(SPEC), **kwargs)
        append_to_manifest(root, root / f"s{i}")
        paths.append(root / f"s{i}.npz")
    return paths


def decision_ticks(ds: ReplayDataset) -> set[int]:
    return {
        int(t)
        for s in ds.iter_samples()
        for t in np.asarray(s.arrays["tick"])[s.arrays["acted"] & ~s.arrays["possessed"]]
    }


def test_in_memory_dataset_stacks_the_samples(tmp_path: Path) -> None:
    paths = write_many(tmp_path)
    ds = ReplayDataset.from_paths(paths, spec=SPEC)
    assert not ds.streaming
    assert ds.transitions == 160
    assert ds.arrays["obs.map"].shape == (160, 2, 3, 3)
    np.testing.assert_array_equal(ds.arrays["tick"], np.arange(160))
    assert ds.options[0] == "wait"
    assert ds.spec.hash == SPEC.hash
    assert ds.spec.shapes == SPEC.shapes
    assert [s.transitions for s in ds.iter_samples()] == [40] * 4


def test_streaming_dataset_keeps_nothing_in_memory(tmp_path: Path) -> None:
    write_many(tmp_path)
    ds = ReplayDataset.from_manifest(tmp_path, streaming=True)
    assert ds.streaming
    with pytest.raises(ReplayError, match="streaming replay dataset has no stacked arrays"):
        _ = ds.arrays
    assert ds.transitions == 160


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("batch_size", [1, 7, 32, 1000])
def test_batches_cover_every_decision_once(
    tmp_path: Path, streaming: bool, batch_size: int
) -> None:
    write_many(tmp_path)
    ds = ReplayDataset.from_manifest(tmp_path, streaming=streaming)
    batches = list(ds.iter_batches(batch_size, seed=3, buffer_samples=2))
    ticks = np.concatenate([b["tick"] for b in batches])
    assert len(ticks) == ds.decisions == len(set(ticks.tolist()))
    assert set(ticks.tolist()) == decision_ticks(ds)
    assert all(len(b["tick"]) == batch_size for b in batches[:-1])
    assert all(b["acted"].all() and not b["possessed"].any() for b in batches)
    assert set(batches[0]) == set(ds.array_names)


@pytest.mark.parametrize("streaming", [False, True])
def test_batches_are_seeded(tmp_path: Path, streaming: bool) -> None:
    write_many(tmp_path)
    ds = ReplayDataset.from_manifest(tmp_path, streaming=streaming)

    def order(seed: int, **kw: Any) -> list[int]:
        return np.concatenate([b["tick"] for b in ds.iter_batches(16, seed, **kw)]).tolist()

    assert order(1) == order(1)
    assert order(1) != order(2)
    assert order(1, shuffle=False) == sorted(order(1))


@pytest.mark.parametrize("streaming", [False, True])
def test_drop_last_and_all_transitions(tmp_path: Path, streaming: bool) -> None:
    write_many(tmp_path)
    ds = ReplayDataset.from_manifest(tmp_path, streaming=streaming)
    sizes = [len(b["actions"]) for b in ds.iter_batches(50, 0, decisions_only=False)]
    assert sum(sizes) == 160 and sizes[-1] == 10
    dropped = [
        len(b["actions"]) for b in ds.iter_batches(50, 0, decisions_only=False, drop_last=True)
    ]
    assert dropped == [50, 50, 50]


def test_compressed_samples_stream_too(tmp_path: Path) -> None:
    write_many(tmp_path, compress=True)
    ds = ReplayDataset.from_manifest(tmp_path, streaming=True)
    assert sum(len(b["tick"]) for b in ds.iter_batches(8, 0)) == ds.decisions


def test_bad_batch_arguments(tmp_path: Path) -> None:
    ds = ReplayDataset.from_paths(write_many(tmp_path, count=1))
    with pytest.raises(ValueError, match="batch_size"):
        next(ds.iter_batches(0, 0))
    with pytest.raises(ValueError, match="buffer_samples"):
        next(ds.iter_batches(4, 0, buffer_samples=0))


# -- refusals: nothing is loaded -------------------------------------------------


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Paths load_sample was asked to read array data from."""
    calls: list[Path] = []
    real = replay_module.load_sample

    def counting(path: Path, **kwargs: Any) -> Any:
        calls.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(replay_module, "load_sample", counting)
    return calls


def test_no_samples_is_refused() -> None:
    with pytest.raises(ReplayError, match="no replay samples"):
        ReplayDataset.from_paths([])


def test_a_spec_mismatch_refuses_the_set_before_loading(tmp_path: Path, loads: list[Path]) -> None:
    paths = write_many(tmp_path, count=2)
    write(tmp_path / "other", small_spec(scalars=5))
    with pytest.raises(ReplayError, match=r"other\.npz: spec\.hash [0-9a-f]{16} != "):
        ReplayDataset.from_paths([*paths, tmp_path / "other"])
    with pytest.raises(ReplayError, match=r"s0\.npz: spec\.hash .* of the given spec"):
        ReplayDataset.from_paths(paths, spec=small_spec(scalars=5))
    assert loads == []


def test_a_corrupt_last_sample_refuses_the_set(tmp_path: Path, loads: list[Path]) -> None:
    paths = write_many(tmp_path, count=3)
    paths[2].write_bytes(paths[2].read_bytes()[:100])
    for streaming in (False, True):
        with pytest.raises(ReplayError, match=r"s2\.npz: not a readable NPZ file"):
            ReplayDataset.from_paths(paths, streaming=streaming)
    assert loads == []


def test_optional_arrays_must_agree(tmp_path: Path) -> None:
    write(tmp_path / "a", SPEC)
    arrays = make_arrays(SPEC, 30, extras=("episode",))
    write_sample(tmp_path / "b", arrays, make_meta(SPEC))
    with pytest.raises(ReplayError, match=r"b\.npz: logprobs, row, tick, values: present in some"):
        ReplayDataset.from_paths([tmp_path / "a", tmp_path / "b"])


def test_options_must_agree(tmp_path: Path) -> None:
    write(tmp_path / "a", SPEC)
    meta = make_meta(SPEC).model_copy(update={"options": ("wait",) * 7})
    write_sample(tmp_path / "b", make_arrays(SPEC, 10), meta)
    with pytest.raises(ReplayError, match=r"b\.npz: options"):
        ReplayDataset.from_paths([tmp_path / "a", tmp_path / "b"])


def test_a_manifest_naming_a_missing_file_loads_nothing(tmp_path: Path, loads: list[Path]) -> None:
    paths = write_many(tmp_path, count=3)
    paths[1].unlink()
    with pytest.raises(ReplayError, match=r"samples\[1\] s1\.npz: file s1\.npz is missing"):
        ReplayDataset.from_manifest(tmp_path)
    assert loads == []


def test_a_tampered_sidecar_spec_is_refused(tmp_path: Path) -> None:
    paths = write_many(tmp_path, count=2)
    side = paths[1].with_suffix(".json")
    obj = json.loads(side.read_text())
    obj["spec"]["components"][1]["features"][0] = "renamed"
    side.write_text(json.dumps(obj))
    with pytest.raises(ReplayError, match=r"s1\.npz: spec: components differ"):
        ReplayDataset.from_paths(paths)


# -- normalisation -------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    data=st.lists(st.integers(0, 20), min_size=1, max_size=6),
    seed=st.integers(0, 1000),
)
def test_running_moments_match_numpy(data: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    chunks = [rng.normal(3.0, 2.0, size=(n, 3)) for n in data]
    m = RunningMoments((3,))
    for chunk in chunks:
        m.update(chunk)
    everything = np.concatenate(chunks)
    assert m.count == len(everything)
    if len(everything):
        np.testing.assert_allclose(m.mean, everything.mean(axis=0), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.var, everything.var(axis=0), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(m.max, everything.max(axis=0))
    again = RunningMoments.from_state(json.loads(json.dumps(m.state_dict())))
    np.testing.assert_array_equal(again.mean, m.mean)
    assert again.count == m.count


def test_obs_normalizer_standardises_batches(tmp_path: Path) -> None:
    write_many(tmp_path)
    ds = ReplayDataset.from_manifest(tmp_path, streaming=True)
    norm = ObsNormalizer(ds.spec.shapes).fit(ds.iter_batches(64, 0))
    out = np.concatenate([b["obs.scalars"] for b in ds.iter_batches(64, 0, normalize=norm)])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-4)


def test_any_callable_is_a_normalisation_hook(tmp_path: Path) -> None:
    ds = ReplayDataset.from_paths(write_many(tmp_path, count=1))
    batches = ds.iter_batches(8, 0, normalize=lambda b: {**b, "rewards": b["rewards"] * 0})
    assert all(not b["rewards"].any() for b in batches)
