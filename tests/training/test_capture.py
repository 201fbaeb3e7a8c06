"""Rollout capture: what a capture records, how it is split, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pytest

from townlet.core.config.loader import load_config
from townlet.core.config.models import TownletConfig
from townlet.core.ports import PLUGIN_API_VERSION, RowsView, ScoredPolicy, WorldView
from townlet.core.training import ReplayDataset, ReplayError, read_manifest, read_sidecar
from townlet.core.training.capture import RolloutCapture


@pytest.fixture(scope="module")
def config() -> TownletConfig:
    return load_config(None).config


@pytest.fixture(scope="module")
def captured(config: TownletConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("capture")
    return RolloutCapture(config).capture(
        "scripted", ticks=50, towns=2, seed=11, output_dir=out, sample_ticks=20, horizon=30
    )


def test_samples_stream_into_a_manifest(captured: Path, config: TownletConfig) -> None:
    manifest = read_manifest(captured)
    assert [e.path for e in manifest.samples] == [f"rollout_0000{i}.npz" for i in range(3)]
    assert [e.transitions for e in manifest.samples] == [320, 320, 160]  # 20+20+10 ticks x 16 rows
    ds = ReplayDataset.from_manifest(captured)
    assert ds.transitions == 50 * 2 * config.world.agents
    assert set(ds.array_names) >= {"obs.map", "obs.scalars", "episode", "town", "row", "tick"}
    assert "values" not in ds.array_names  # the scripted policy scores nothing


def test_transitions_are_step_ordered_with_ids(captured: Path) -> None:
    a = ReplayDataset.from_manifest(captured).arrays
    rows = 16
    tick = a["tick"].reshape(50, rows)
    assert (a["row"].reshape(50, rows) == np.arange(rows)).all()
    assert (a["town"].reshape(50, rows) == np.arange(rows) // 8).all()
    # the horizon (30) resets both towns: ticks restart and a new episode id begins
    assert (tick[:30] == np.arange(30)[:, None]).all() and (
        tick[30:] == np.arange(20)[:, None]
    ).all()
    episode = a["episode"].reshape(50, rows)
    assert (episode[:30] == np.arange(rows) // 8).all() and (
        episode[30:] == 2 + np.arange(rows) // 8
    ).all()
    truncated = a["truncated"].reshape(50, rows)
    assert truncated[29].all() and not truncated[:29].any() and not truncated[30:].any()
    masks = a["masks"]
    assert masks[np.arange(len(masks)), a["actions"]].all()  # the policy chose legal options


def test_episode_metrics_written_once(captured: Path) -> None:
    manifest = read_manifest(captured)
    infos = [e for s in manifest.samples for e in read_sidecar(captured.parent / s.path).episodes]
    with_metrics = [e for e in infos if e.metrics]
    assert sorted(e.episode for e in with_metrics) == [0, 1, 2, 3]
    assert sum(e.ticks for e in infos) == 2 * 50  # each town's ticks, counted per sample
    first = next(e for e in with_metrics if e.episode == 0)
    assert first.seed == 11 and first.town == 0 and first.metrics["complete"] == 1.0
    for key in ("return", "queue_conflict_events", "queue_conflict_intensity_sum", "lateness",
                "chats", "exits"):  # fmt: skip
        assert key in first.metrics
    last = next(e for e in with_metrics if e.episode == 3)
    assert last.metrics["complete"] == 0.0
    # the episode's return is the mean of its agents' summed rewards
    a = ReplayDataset.from_manifest(captured).arrays
    sel = a["episode"] == 0
    per_agent = np.bincount(a["row"][sel], weights=a["rewards"][sel].astype(np.float64))
    assert first.metrics["return"] == pytest.approx(per_agent[:8].mean(), rel=1e-5)


class _Scored:
    """A batch policy that also reports values and log-probabilities."""

    Params: ClassVar[Any] = None
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION

    def reset(self, world: WorldView, rng: np.random.Generator) -> None:
        pass

    def act(self, world: WorldView) -> npt.NDArray[np.int64]:
        return np.zeros(world.n_agents, dtype=np.int64)

    def act_many(self, rows: RowsView) -> npt.NDArray[np.int64]:
        return np.zeros(rows.n_agents, dtype=np.int64)

    def act_scored(
        self, rows: RowsView
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        n = rows.n_agents
        return self.act_many(rows), np.full(n, 0.5, np.float32), np.full(n, -0.1, np.float32)


def test_scored_policy_adds_values_and_logprobs(config: TownletConfig, tmp_path: Path) -> None:
    policy = _Scored()
    assert isinstance(policy, ScoredPolicy)
    manifest = RolloutCapture(config).capture(policy, ticks=5, towns=2, output_dir=tmp_path)
    a = ReplayDataset.from_manifest(manifest).arrays
    assert (a["values"] == 0.5).all() and (a["logprobs"] == np.float32(-0.1)).all()
    assert (a["actions"] == 0).all()
    assert read_sidecar(tmp_path / "rollout_00000").policy == "_Scored"


def test_cli_capture_then_inspect(cli, tmp_path: Path) -> None:
    out = tmp_path / "rollouts"
    args = ("--output", str(out), "--ticks", "12", "--towns", "2", "--sample-ticks", "5")
    result = cli("capture-rollout", *args, "--policy", "random", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "192 transitions" in result.stdout
    assert len(read_manifest(out).samples) == 3
    assert read_sidecar(out / "rollout_00000").policy == "random"
    shown = cli("replay", "inspect", str(out))
    assert shown.returncode == 0, shown.stderr
    assert "192 transitions" in shown.stdout and "action histogram" in shown.stdout
    as_json = json.loads(cli("replay", "inspect", str(out / "manifest.json"), "--json").stdout)
    assert as_json["transitions"] == 192


def test_same_seed_same_capture(config: TownletConfig, tmp_path: Path) -> None:
    kw: dict[str, Any] = {"ticks": 8, "towns": 2, "seed": 4}
    one = RolloutCapture(config).capture("random", output_dir=tmp_path / "a", **kw)
    two = RolloutCapture(config).capture("random", output_dir=tmp_path / "b", **kw)
    a, b = ReplayDataset.from_manifest(one).arrays, ReplayDataset.from_manifest(two).arrays
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_capturing_again_appends_and_another_spec_is_refused(
    config: TownletConfig, tmp_path: Path
) -> None:
    capture = RolloutCapture(config)
    capture.capture("random", ticks=4, towns=1, output_dir=tmp_path)
    capture.capture("random", ticks=4, towns=1, output_dir=tmp_path, seed=9)
    assert [e.path for e in read_manifest(tmp_path).samples] == [
        "rollout_00000.npz",
        "rollout_00001.npz",
    ]
    compact = config.model_copy(
        update={"observations": config.observations.model_copy(update={"encoder": "compact"})}
    )
    with pytest.raises(ReplayError, match="spec_hash"):
        RolloutCapture(compact).capture("random", ticks=4, towns=1, output_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2
