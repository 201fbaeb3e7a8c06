"""The pipeline: config shape, breakdown, stats, normalisation, clip rate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.env.helpers import config, run_scripted, world
from townlet.core.config.models import DEFAULT_REWARD_STAGES
from townlet.core.errors import PluginParamsError, UnknownPluginError
from townlet.core.rewards import RewardPipeline, RunningStats, SwitchableStage
from townlet.core.rewards.stats import RunningMoments
from townlet.core.world.rows import TownRows


def test_default_pipeline_is_the_standard_list() -> None:
    p = RewardPipeline.from_config(config())
    assert p.labels == DEFAULT_REWARD_STAGES


def test_breakdown_sums_to_the_total_and_world_is_untouched() -> None:
    w = world("seed=4")
    p = RewardPipeline.from_config(config("seed=4"))
    p.reset(w)
    policy = run_scripted(w, 0)
    for _ in range(200):
        w.step(policy.act(w))
        before = w.state_hash()
        total = p.compute(w)
        assert w.state_hash() == before
        parts = np.sum(list(p.breakdown.values()), axis=0)
        np.testing.assert_allclose(total, parts, atol=1e-6)
        assert total.dtype == np.float32 and total.shape == (w.n_agents,)
    assert p.stats.count == 200 * 8
    summary = p.summary()
    assert set(summary) == {"total", *DEFAULT_REWARD_STAGES}
    assert summary["survival"]["mean"] == pytest.approx(0.002)


def test_scripted_citizens_rarely_hit_the_clip() -> None:
    """Defaults must not saturate the clip: < 5% of agent-ticks in the default town."""
    w = world("seed=0")
    p = RewardPipeline.from_config(config("seed=0"))
    p.reset(w)
    policy = run_scripted(w, 0)
    for _ in range(2000):
        w.step(policy.act(w))
        total = p.compute(w)
        assert np.abs(total).max() <= 0.2 + 1e-6 or p.breakdown["terminal"].any()
    clip = p.stages[p.labels.index("clip")]
    assert clip.agent_ticks == 2000 * 8
    assert clip.clip_fraction < 0.05, clip.clip_fraction


def test_normalisation_divides_by_running_std() -> None:
    cfg = config("rewards.normalise=true", "rewards.normalise_warmup=80")
    w = world("seed=2")
    p = RewardPipeline.from_config(cfg)
    p.reset(w)
    policy = run_scripted(w, 0)
    for _ in range(20):
        w.step(policy.act(w))
        out = p.compute(w)
    assert p.stats.count >= 80
    np.testing.assert_allclose(out, np.clip(p.raw / p.stats.std, -10, 10), rtol=1e-5)


def test_unknown_stage_and_bad_params_are_user_errors() -> None:
    with pytest.raises(UnknownPluginError, match="Did you mean 'shaping'"):
        RewardPipeline.from_config(config("rewards.stages=[{name: shapin}]"))
    with pytest.raises(PluginParamsError, match="gamma"):
        RewardPipeline.from_config(config("rewards.stages=[{name: shaping, params: {gamma: 2}}]"))


def test_repeated_stages_get_distinct_labels() -> None:
    p = RewardPipeline.from_config(config("rewards.stages=[{name: survival}, {name: survival}]"))
    assert p.labels == ("survival", "survival#2")


def test_compute_before_reset_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        RewardPipeline.from_config(config()).compute(world())


def test_running_stats_match_numpy() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(3, 2, 1000)
    s = RunningStats()
    for chunk in np.array_split(values, 7):
        s.update(chunk)
    assert s.count == 1000
    assert s.mean == pytest.approx(values.mean()) and s.std == pytest.approx(values.std())
    m = RunningMoments(2)
    for chunk in np.array_split(np.stack([values, -values]), 5, axis=1):
        m.update(chunk)
    assert m.series(1).mean == pytest.approx(-values.mean())
    assert m.series(0).std == pytest.approx(values.std())


def test_rows_must_match_the_reset() -> None:
    p = RewardPipeline.from_config(config())
    with pytest.raises(RuntimeError, match="reset"):
        p.reset_town(0, world(), slice(0, 8))
    w1, w2 = world(), world()
    p.reset([w1, w2])
    w1.step(np.zeros(w1.n_agents, np.int64))
    with pytest.raises(ValueError, match="16 rows, got 8"):
        p.compute(w1)


def test_disabled_stages_are_left_out_with_zero_rows() -> None:
    """Social stages below their level are never computed; their rows stay zero."""
    w = world("seed=3")
    p = RewardPipeline.from_config(config("seed=3"))
    social = [p.stages[p.labels.index(k)] for k in ("social_chat", "social_quality")]
    calls: list[str] = []

    def counted(stage: Any) -> Any:
        compute = stage.compute

        def wrapper(ctx: Any) -> Any:
            calls.append(type(stage).__name__)
            return compute(ctx)

        return wrapper

    for stage in social:
        assert isinstance(stage, SwitchableStage)
        assert not stage.enabled(TownRows.of(w).config)
        stage.compute = counted(stage)  # type: ignore[method-assign]
    p.reset(w)
    policy = run_scripted(w, 0)
    for _ in range(50):
        w.step(policy.act(w))
        total = p.compute(w)
        assert not p.breakdown["social_chat"].any() and not p.breakdown["social_quality"].any()
        np.testing.assert_allclose(total, np.sum(list(p.breakdown.values()), axis=0), atol=1e-6)
    assert calls == []
