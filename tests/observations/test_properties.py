"""Random world states never yield NaN, infinities or out-of-range features."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.env.helpers import run_scripted, world
from townlet.core.observations.encoders import (
    CompactEncoder,
    CompactParams,
    FullEncoder,
    FullParams,
    HybridEncoder,
    HybridParams,
)
from townlet.core.world.options import OPTIONS
from townlet.core.world.rows import TownRows
from townlet.core.world.weather import WEATHERS

ENCODERS = [
    FullEncoder(FullParams()),
    HybridEncoder(HybridParams()),
    CompactEncoder(CompactParams()),
    FullEncoder(FullParams(window=5, social_k=6, personality=False, horizon=7)),
    CompactEncoder(CompactParams(window=0, social_k=1)),
]


@pytest.fixture(scope="module")
def base():
    w = world("features.stages.relationships=C", "seed=5")
    run_scripted(w, 50)
    return w


@st.composite
def states(draw: st.DrawFn, n: int, n_obj: int, walk: np.ndarray) -> dict:
    ys, xs = np.nonzero(walk)
    idx = draw(st.lists(st.integers(0, ys.size - 1), min_size=n, max_size=n))
    seed = draw(st.integers(0, 2**32 - 1))
    return {"xy": np.stack([xs[idx], ys[idx]], axis=1), "seed": seed}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_states_stay_in_bounds(base, data: st.DataObject) -> None:
    w = base
    a = w.agents
    n = a.alive.size
    n_obj = len(w.town.object_ids)
    drawn = data.draw(states(n, n_obj, w.walkable))
    rng = np.random.default_rng(drawn["seed"])
    a.xy[:] = drawn["xy"]
    a.alive[:] = rng.random(n) < 0.8
    a.needs[:] = rng.uniform(0, 1, (n, 3))
    a.wallet[:] = rng.integers(-(10**7), 10**7, n)
    a.rent_due[:] = rng.integers(0, 10**6, n)
    a.inventory[:] = rng.integers(0, 300, (n, 3))
    a.option[:] = rng.integers(0, len(OPTIONS), n)
    a.target[:] = rng.integers(-1, n_obj, n)
    a.queue_obj[:] = rng.integers(-1, n_obj, n)
    a.queue_since[:] = rng.integers(0, 10**5, n)
    a.aff[:] = rng.integers(-2, len(w.affordances.ids), n)
    a.aff_left[:] = rng.integers(-5, 500, n)
    a.last_duration[:] = rng.integers(0, 10**5, n)
    a.blocked[:] = rng.integers(0, 100, n)
    a.shift_state[:] = rng.integers(0, 5, n)
    a.job[:] = rng.integers(-1, len(w.job_start), n)
    a.late_days[:] = rng.integers(0, 50, n)
    a.shift_days[:] = rng.integers(0, 50, n)
    a.present_ticks[:] = rng.integers(0, 10**5, n)
    a.scheduled_ticks[:] = rng.integers(0, 10**5, n)
    a.personality[:] = rng.uniform(-1, 1, (n, 3))
    a.embed_slot[:] = rng.integers(-1, 64, n)
    a.ctx_reset[:] = rng.random(n) < 0.5
    w.objects.holder[:] = rng.integers(-1, n, n_obj)
    a.option_status[:] = rng.integers(0, 3, n)
    ties = a.tie_other.shape
    a.tie_other[:] = rng.integers(-1, n, ties)
    a.tie_trust[:] = rng.uniform(-1, 1, ties)
    a.tie_familiarity[:] = rng.uniform(-1, 1, ties)
    a.tie_rivalry[:] = rng.uniform(-1, 1, ties)
    w.utility_on[:] = rng.random(2) < 0.5
    w.set_weather(WEATHERS[int(rng.integers(3))])
    w.tick = int(rng.integers(0, 10**7))
    for enc in ENCODERS:
        arrays = enc.encode(TownRows.of(w))
        assert enc.spec.violations(dict(arrays)) == []
        for comp, arr in arrays.items():
            assert not arr[~a.alive].any(), f"{enc.name}.{comp}: empty slots must be zeros"


def test_encoding_never_mutates_the_world(base) -> None:
    before = base.state_hash()
    for enc in ENCODERS:
        enc.encode(TownRows.of(base))
    assert base.state_hash() == before


def test_encoding_into_buffers_equals_fresh_arrays(base) -> None:
    for enc in ENCODERS:
        fresh = enc.encode(TownRows.of(base))
        batch = enc.spec.allocate(3 * base.n_agents)
        rows = slice(base.n_agents, 2 * base.n_agents)
        view = {k: v[rows] for k, v in batch.items()}
        assert enc.encode(TownRows.of(base), view) is view
        for k, v in fresh.items():
            np.testing.assert_array_equal(batch[k][rows], v)
            assert not batch[k][: base.n_agents].any()


def test_encoding_many_towns_at_once_equals_one_by_one() -> None:
    towns = [world("features.stages.relationships=B", f"seed={s}") for s in range(3)]
    for i, w in enumerate(towns):
        run_scripted(w, 40 * (i + 1))
        w.agents.tie_other[1, 0] = 2
        w.agents.tie_rivalry[1, 0] = 0.7
    towns[1].set_weather("rainy")  # different fields per town
    for enc in ENCODERS:
        many = enc.encode(TownRows(towns))
        for k, v in many.items():
            np.testing.assert_array_equal(
                v, np.concatenate([enc.encode(TownRows.of(w))[k] for w in towns])
            )


def test_batch_encoding_follows_closures_of_one_town() -> None:
    """Layers kept between calls are refreshed when one town's tiles close."""
    towns = [world(f"seed={s}") for s in range(2)]
    for w in towns:
        run_scripted(w, 30)
    for enc in ENCODERS:
        enc.encode(TownRows(towns))
    closed = np.zeros(towns[1].town.shape, dtype=bool)
    closed[5:20, 5:20] = True
    towns[1].close_tiles(closed)
    for enc in ENCODERS:
        many = enc.encode(TownRows(towns))
        for k, v in many.items():
            np.testing.assert_array_equal(
                v, np.concatenate([enc.encode(TownRows.of(w))[k] for w in towns])
            )


def test_towns_of_different_geometry_are_refused_together(tmp_path) -> None:
    from tests.env.helpers import config
    from townlet.core.world.world import World

    src = (config().world.town).read_text()
    other = tmp_path / "town.yaml"
    other.write_text(src.replace("at: [9, 2], place: home_a", "at: [8, 2], place: home_a"))
    odd = World.from_config(config(f"world.town={other}"))
    with pytest.raises(ValueError, match="geometry"):
        ENCODERS[0].encode(TownRows([world(), odd]))
