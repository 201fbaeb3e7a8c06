"""The scalar bundle's names and columns come from one list of groups."""

from __future__ import annotations

import numpy as np
import pytest

from townlet.core.config.loader import load_config, parse_override
from townlet.core.observations import _bundle
from townlet.core.observations._frame import Frame, FrameCache
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.rows import TownRows
from townlet.core.world.world import World


@pytest.fixture(scope="module")
def frame() -> Frame:
    """A default town (stage B, so ties count) after some scripted ticks."""
    texts = ("features.stages.relationships=B",)
    world = World.from_config(load_config(overrides=[parse_override(t) for t in texts]).config)
    policy = ScriptedPolicy(ScriptedPolicyParams())
    policy.reset(world, world.rng.policy)
    while world.tick < 240:
        world.step(policy.act(world))
    return Frame.of(TownRows.of(world), FrameCache(2))


@pytest.mark.parametrize("personality", [False, True])
def test_features_are_the_groups_in_order(personality: bool) -> None:
    names = [f.name for f in _bundle.bundle_features(personality)]
    assert len(names) == len(set(names))
    groups = [g for g in _bundle._GROUPS if personality or not g.personality]
    assert names == [f.name for g in groups for f in g.features]
    assert any(n.startswith("personality.") for n in names) == personality


@pytest.mark.parametrize("group", _bundle._GROUPS, ids=lambda g: g.fill.__name__)
def test_each_group_fills_exactly_its_declared_columns(frame: Frame, group: _bundle._Group) -> None:
    width = len(group.features)
    out = np.full((frame.n, width), np.nan, dtype=np.float32)
    hot = group.fill(frame, out, 100)
    if group.fill is _bundle._path:
        # a one-hot only for rows with a next step: the others keep the zeros they are given
        written = ~np.isnan(out)
        assert hot is None and (written.sum(axis=1) <= 1).all() and written.any()
    elif hot is None:
        assert not np.isnan(out).any(), "every declared column is written for every row"
    else:
        assert np.isnan(out).all(), "a one-hot group returns its columns instead of writing"
        assert hot.shape == (frame.n,) and ((hot >= 0) & (hot < width)).all()


def test_fill_rejects_a_buffer_of_another_width(frame: Frame) -> None:
    width = len(_bundle.bundle_features(False))
    with pytest.raises(ValueError, match=f"{width} columns"):
        _bundle.fill_bundle(frame, np.zeros((frame.n, width + 1), np.float32), 100, False)
