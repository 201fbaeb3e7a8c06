"""Streaming a manifest several times larger than a memory budget stays within it."""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.training.helpers import OPTIONS, make_meta
from townlet.core.observations.spec import Component, Feature, ObservationSpec
from townlet.core.training import ReplayDataset, append_to_manifest, batch_summary, write_sample

MB = 1 << 20
BUDGET = 16 * MB
SAMPLES = 24
ROWS = 1600  # ≈ 3.1 MB per sample with the spec below: 24 samples ≈ 4.5× the budget
SPEC = ObservationSpec(
    "wide",
    "1",
    (
        Component(
            "map",
            (4, 11, 11),
            tuple(Feature(f"c{i}", 0.0, 1.0, "channel") for i in range(4)),
            "A map big enough to weigh something.",
        ),
        Component(
            "scalars",
            (2,),
            (Feature("queue.waiting", 0, 1, "q"), Feature("need.energy", 0, 1, "e")),
            "Scalars.",
        ),
    ),
)


@pytest.fixture(scope="module")
def big_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(0)
    for i in range(SAMPLES):
        arrays = {
            "obs.map": rng.random((ROWS, 4, 11, 11), dtype=np.float32),
            "obs.scalars": rng.random((ROWS, 2), dtype=np.float32),
            "actions": rng.integers(0, len(OPTIONS), ROWS, dtype=np.int64),
            "masks": np.ones((ROWS, len(OPTIONS)), dtype=bool),
            "rewards": rng.normal(size=ROWS).astype(np.float32),
            "terminated": np.zeros(ROWS, dtype=bool),
            "truncated": np.zeros(ROWS, dtype=bool),
            "acted": rng.random(ROWS) < 0.7,
            "possessed": np.zeros(ROWS, dtype=bool),
        }
        write_sample(root / f"s{i:02d}", arrays, make_meta(SPEC))
        append_to_manifest(root, root / f"s{i:02d}")
    total = sum(p.stat().st_size for p in root.glob("*.npz"))
    assert total > 4 * BUDGET
    return root


def _rss() -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def _peak_while(batches: Iterator[dict[str, np.ndarray]]) -> tuple[int, int, int]:
    """(numpy peak allocation, largest RSS growth seen, transitions) over the batches."""
    rss0 = _rss()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    seen, rss_growth = 0, 0
    try:
        for batch in batches:
            seen += len(batch["actions"])
            now = _rss()
            if rss0 is not None and now is not None:
                rss_growth = max(rss_growth, now - rss0)
            del batch
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, rss_growth, seen


def test_streaming_stays_within_the_budget(big_manifest: Path) -> None:
    ds = ReplayDataset.from_manifest(big_manifest, streaming=True)
    peak, rss_growth, seen = _peak_while(ds.iter_batches(256, seed=0, buffer_samples=2))
    assert seen == ds.decisions
    assert peak < BUDGET, f"streaming allocated {peak / MB:.1f} MB at peak"
    assert rss_growth < 2 * BUDGET, f"RSS grew by {rss_growth / MB:.1f} MB"


def test_loading_it_all_would_not(big_manifest: Path) -> None:
    # The measurement itself works: the in-memory dataset is far over the budget.
    tracemalloc.start()
    try:
        ds = ReplayDataset.from_manifest(big_manifest)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak > 3 * BUDGET
    assert ds.transitions == SAMPLES * ROWS


def test_summary_of_a_stream_stays_within_the_budget(big_manifest: Path) -> None:
    ds = ReplayDataset.from_manifest(big_manifest, streaming=True)
    tracemalloc.start()
    try:
        summary = batch_summary(ds)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.summarised == ds.decisions
    assert peak < BUDGET, f"summary allocated {peak / MB:.1f} MB at peak"
