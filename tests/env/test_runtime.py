"""The one builder: what it wires, and worlds of several towns on one storage."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.env.helpers import config
from townlet.core.env import VectorTownEnv
from townlet.core.registry import Registry
from townlet.core.runtime import build_runtime
from townlet.core.world.rows import TownRows


def test_parts_are_built_on_request() -> None:
    rt = build_runtime(config(), Registry())
    assert rt.encoder is None and rt.rewards is None and rt.hub is None
    assert rt.plugins.hook.on_tick.get_hookimpls() == [] and rt.hook_failures == ()
    full = build_runtime(
        config(), encoder=True, encoder_defaults={"horizon": 7}, rewards=True, telemetry=True
    )
    assert full.encoder is not None and full.encoder.params.horizon == 7
    assert full.rewards is not None and full.hub is not None
    with pytest.raises(ValueError, match="towns"):
        build_runtime(config(), towns=0)


def test_towns_share_one_storage_and_take_their_seeds() -> None:
    rt = build_runtime(config(), towns=3)
    worlds = rt.worlds([5, 6, 7])
    assert [w.seed for w in worlds] == [5, 6, 7]
    assert rt.rows(1) == slice(8, 16)
    rows = TownRows(worlds)
    assert rows.shared and rows.agents.needs is rt.agents.needs
    for t, w in enumerate(worlds):
        assert w.hooks is worlds[0].hooks
        np.testing.assert_array_equal(w.agents.xy, rt.agents.xy[rt.rows(t)])
    again = rt.world(1, seed=6)  # a reset builds the town again on the same rows
    assert np.shares_memory(again.agents.needs, rt.agents.needs)
    with pytest.raises(IndexError):
        rt.world(3)
    with pytest.raises(ValueError, match="seeds"):
        rt.worlds([1])


def test_a_broken_hook_plugin_is_reported_by_the_env(make_dist: Any) -> None:
    make_dist(
        "hooks-broken",
        "0.3",
        entry_points={"townlet": {"broken": "broken_hooks"}},
        modules={"broken_hooks": "raise ImportError('missing backend')\n"},
    )
    venv = VectorTownEnv(1, horizon=5)
    (failure,) = venv.runtime.hook_failures
    assert "hooks-broken 0.3" in str(failure) and "missing backend" in str(failure)
    venv.reset(seed=0)
    venv.step(np.zeros(venv.num_rows, np.int64))  # the others still run
