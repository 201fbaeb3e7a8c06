"""The replay batch summary behind ``townlet replay inspect``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.training.helpers import OPTIONS, make_arrays, make_meta, small_spec
from townlet.core.config.loader import load_config
from townlet.core.observations.encoders import CompactEncoder, CompactParams
from townlet.core.training import (
    ReplayDataset,
    SampleMeta,
    SpecInfo,
    append_to_manifest,
    batch_summary,
    inspect_text,
    write_sample,
)
from townlet.core.training.capture import RolloutCapture

SPEC = small_spec()


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    for i in range(3):
        write_sample(tmp_path / f"s{i}", make_arrays(SPEC, 60, seed=i), make_meta(SPEC, episodes=2))
        append_to_manifest(tmp_path, tmp_path / f"s{i}")
    return tmp_path


def test_summary_counts_shapes_and_actions(manifest: Path) -> None:
    ds = ReplayDataset.from_manifest(manifest)
    summary = batch_summary(ds)
    a = ds.arrays
    keep = a["acted"] & ~a["possessed"]
    assert summary.transitions == 180 and summary.decisions == int(keep.sum())
    assert summary.summarised == summary.decisions
    assert summary.episodes == 2  # every sample lists the same run's episodes 0 and 1
    assert summary.shapes["obs.map"] == (180, 2, 3, 3)
    assert summary.dtypes["masks"] == "bool"
    assert list(summary.actions) == list(OPTIONS)
    counts = np.bincount(a["actions"][keep], minlength=len(OPTIONS))
    assert list(summary.actions.values()) == counts.tolist()
    assert summary.episode_totals == {"queue_conflict_events": 4.0, "return": -3.0}
    assert summary.config_ids == ("test",)


def test_feature_statistics_match_numpy(manifest: Path) -> None:
    ds = ReplayDataset.from_manifest(manifest)
    summary = batch_summary(ds, decisions_only=False)
    by_name = {f.name: f for f in summary.features}
    assert list(by_name)[:2] == ["map.walls", "map.agents"]
    hunger = ds.arrays["obs.scalars"][:, 0]
    assert by_name["scalars.need.hunger"].mean == pytest.approx(float(hunger.mean()), rel=1e-6)
    assert by_name["scalars.need.hunger"].std == pytest.approx(float(hunger.std()), rel=1e-5)
    assert by_name["scalars.need.hunger"].max == pytest.approx(float(hunger.max()))
    walls = ds.arrays["obs.map"][:, 0]
    assert by_name["map.walls"].mean == pytest.approx(float(walls.mean()), rel=1e-6)
    assert by_name["map.walls"].min == pytest.approx(float(walls.min()))
    assert summary.rewards.mean == pytest.approx(float(ds.arrays["rewards"].mean()), rel=1e-5)


def test_conflict_features_are_singled_out(manifest: Path) -> None:
    summary = batch_summary(ReplayDataset.from_manifest(manifest))
    assert [f.name for f in summary.conflict_features] == [
        "scalars.queue.waiting",
        "scalars.social.rivalry_max",
    ]


def test_streaming_and_in_memory_summaries_agree(manifest: Path) -> None:
    eager = batch_summary(ReplayDataset.from_manifest(manifest))
    streamed = batch_summary(ReplayDataset.from_manifest(manifest, streaming=True))
    assert streamed.model_dump(exclude={"features", "conflict_features", "rewards"}) == (
        eager.model_dump(exclude={"features", "conflict_features", "rewards"})
    )
    for a, b in zip(eager.features, streamed.features, strict=True):
        assert a.name == b.name
        assert a.mean == pytest.approx(b.mean, rel=1e-9, abs=1e-12)
        assert a.std == pytest.approx(b.std, rel=1e-9, abs=1e-12)


def test_a_real_encoder_spec_has_its_conflict_features_found(tmp_path: Path) -> None:
    spec = CompactEncoder(CompactParams()).spec
    meta = SampleMeta(spec=SpecInfo.from_spec(spec), options=OPTIONS, config_id="default")
    write_sample(tmp_path / "s", make_arrays(spec, 30), meta)
    summary = batch_summary(ReplayDataset.from_paths([tmp_path / "s"], spec=spec))
    names = {f.name for f in summary.conflict_features}
    assert {"scalars.queue.rival_in_queue", "scalars.social.rivalry_max"} <= names
    assert any(n.startswith("social.rival0.") for n in names)
    assert not any("hunger" in n for n in names)


def test_inspect_text_shows_every_section(manifest: Path) -> None:
    text = inspect_text(batch_summary(ReplayDataset.from_manifest(manifest)))
    assert text.startswith("replay: 3 sample(s), 180 transitions")
    for section in (
        "arrays:",
        "conflict/rivalry features (2):",
        "action histogram:",
        "rewards:",
        "episode metrics (sum over episodes):",
        "features (6):",
    ):
        assert section in text
    assert "scalars.social.rivalry_max" in text
    assert "obs.map" in text and "[180, 2, 3, 3]" in text
    assert "socialise" in text


def test_episodes_spanning_samples_count_once(tmp_path: Path) -> None:
    capture = RolloutCapture(load_config(None).config)
    capture.capture("scripted", ticks=50, towns=2, seed=11, output_dir=tmp_path,
                    sample_ticks=20, horizon=30)  # fmt: skip
    # a second run into the same directory: its episode ids start at 0 again
    capture.capture("scripted", ticks=10, towns=2, seed=5, output_dir=tmp_path)
    ds = ReplayDataset.from_manifest(tmp_path / "manifest.json")
    summary = batch_summary(ds)
    assert len(ds.paths) == 4
    assert summary.episodes == 4 + 2  # two episodes per town, then one per town
    finished = [e for s in ds.sidecars for e in s.episodes if e.metrics]
    assert summary.episode_totals["complete"] == 2.0  # episodes 0 and 1 reached the horizon
    assert summary.episode_totals["agents"] == sum(e.metrics["agents"] for e in finished)
