"""The scalar bundle's names and columns come from one list of groups."""

from __future__ import annotations

import numpy as np
import pytest

from townlet.core.config.loader import load_config, parse_override
from townlet.core.observations import _bundle
from townlet.core.observations._frame import Frame, FrameCache
from townlet.core.observations._landmarks import NEAREST, landmark_table, squash
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
    if group.onehot:
        assert np.isnan(out).all(), "a one-hot group returns its columns instead of writing"
        assert hot is not None and hot.shape == (frame.n,)
        low = -1 if group.none else 0
        assert ((hot >= low) & (hot < width)).all()
    else:
        assert hot is None
        assert not np.isnan(out).any(), "every declared column is written for every row"


def test_path_one_hot_is_none_without_a_next_step(frame: Frame) -> None:
    hot = _bundle._path(frame, np.zeros((frame.n, 4), np.float32), 100)
    assert (hot == -1).any() and (hot >= 0).any()
    assert (hot[~frame.has_target] == -1).all()


def test_every_feature_stays_within_its_declared_bounds(frame: Frame) -> None:
    feats = _bundle.bundle_features(True)
    out = np.zeros((frame.n, len(feats)), np.float32)
    _bundle.fill_bundle(frame, out, 100, True)
    low = np.array([f.low for f in feats], np.float32)
    high = np.array([f.high for f in feats], np.float32)
    assert ((out >= low) & (out <= high)).all()


def test_fill_rejects_a_buffer_of_another_width(frame: Frame) -> None:
    width = len(_bundle.bundle_features(False))
    with pytest.raises(ValueError, match=f"{width} columns"):
        _bundle.fill_bundle(frame, np.zeros((frame.n, width + 1), np.float32), 100, False)


def test_landmark_table_matches_a_direct_computation(frame: Frame) -> None:
    """The tabulated block equals bearing and squashed cost computed row by row."""
    world = frame.worlds[0]
    dist, town = world.fields.dist, world.town
    table = landmark_table(town, dist)
    for k, kind in enumerate(NEAREST):
        cands = town.objects_of_type(kind)
        for y, x in [(frame.y[i], frame.x[i]) for i in range(frame.n)]:
            obj = cands[np.argmin(dist[cands, y, x])]
            dx, dy = town.object_xy[obj, 0] - x, town.object_xy[obj, 1] - y
            norm = max(float(np.hypot(dx, dy)), 1e-9)
            want = [dx / norm, dy / norm, squash(dist[obj, y, x])]
            got = table[dist.shape[0] + k, y, x]
            np.testing.assert_allclose(got, np.array(want, np.float32), atol=1e-6)
    np.testing.assert_array_equal(table[-1], np.broadcast_to([0, 0, 1], table[-1].shape))
