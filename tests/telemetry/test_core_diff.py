"""The observer stream protocol: keyed diffs and apply_diff."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.synthetic_town import SyntheticTown
from townlet.core.telemetry import (
    DiffError,
    SnapshotTracker,
    apply_changes,
    apply_diff,
    diff_changes,
    make_diff,
    make_payload,
)


def _snap(tick: int, world: dict[str, Any]) -> dict[str, Any]:
    payload = make_payload("world_snapshot", tick, world)
    payload["tick"] = tick
    return dict(payload)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_changes_rebuild_any_json_object_exactly(data: st.DataObject, json_object_pairs) -> None:
    prev, curr = data.draw(json_object_pairs)
    changes = diff_changes(prev, curr)
    wire = json.loads(json.dumps(changes))  # through JSON, as a consumer gets it
    assert apply_changes(prev, wire) == curr
    assert apply_changes(prev, changes) == curr
    if json.dumps(prev) == json.dumps(curr):
        assert changes == {}


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_recorded_stream_replays_to_every_snapshot(data: st.DataObject, world_sequences) -> None:
    """Applying every diff of a recorded stream to the first snapshot gives each later one."""
    worlds = data.draw(world_sequences)
    snapshots = [_snap(w["tick"], w) for w in worlds]
    recorded = [json.dumps(snapshots[0])]
    recorded += [json.dumps(make_diff(a, b)) for a, b in itertools.pairwise(snapshots)]
    state = json.loads(recorded[0])
    for line, expected in zip(recorded[1:], snapshots[1:], strict=True):
        state = apply_diff(state, json.loads(line))
        assert state == json.loads(json.dumps(expected))


def test_one_agent_moving_gives_a_small_keyed_diff() -> None:
    town = SyntheticTown(n_agents=8, seed=3)
    world = town.step()
    before = _snap(1, world)
    moved = json.loads(json.dumps(world))
    moved["tick"] = 2
    moved["agents"]["agent_003"]["x"] += 1
    after = _snap(2, moved)
    diff = make_diff(before, after)
    assert diff["base_tick"] == 1 and diff["tick"] == 2
    assert diff["changes"] == {
        "set": {"tick": 2},
        "patch": {
            "agents": {"patch": {"agent_003": {"set": {"x": moved["agents"]["agent_003"]["x"]}}}}
        },
    }
    assert apply_diff(before, diff) == after


def test_spawn_exit_and_list_replacement() -> None:
    base = _snap(5, {"agents": {"a1": {"x": 1}, "a2": {"x": 2}}, "events": [{"kind": "x"}]})
    nxt = _snap(6, {"agents": {"a2": {"x": 2}, "a3": {"x": 0}}, "events": []})
    changes = make_diff(base, nxt)["changes"]
    assert changes["patch"]["agents"] == {"set": {"a3": {"x": 0}}, "del": ["a1"]}
    assert changes["set"]["events"] == []


@pytest.mark.parametrize(
    ("old", "new"),
    [(1, 1.0), (0.0, -0.0), (True, 1), (0.1, 0.1 + 1e-17 + 1e-16), ({"a": 1}, [1])],
)
def test_values_compare_exactly(old: Any, new: Any) -> None:
    changes = diff_changes({"v": old}, {"v": new})
    assert changes == {"set": {"v": new}}


def test_equal_objects_and_lists_are_unchanged() -> None:
    old = {"o": {"a": 1, "b": [1, 2]}, "l": [{"x": 0.5}]}
    new = {"o": {"a": 1, "b": [1, 2.0]}, "l": [{"x": 0.5}]}  # one JSON value, two spellings
    assert diff_changes(old, new) == {}


def test_apply_diff_refuses_wrong_base_and_bad_changes() -> None:
    base = _snap(3, {"agents": {}})
    with pytest.raises(DiffError, match="applies to tick 4, but the snapshot is at tick 3"):
        apply_diff(base, {"payload_type": "world_diff", "base_tick": 4, "tick": 5, "changes": {}})
    bad = {"payload_type": "world_diff", "base_tick": 3, "tick": 4}
    with pytest.raises(DiffError, match=r"cannot delete agents\.a9"):
        apply_diff(base, {**bad, "changes": {"patch": {"agents": {"del": ["a9"]}}}})
    with pytest.raises(DiffError, match="cannot patch tick"):
        apply_diff(base, {**bad, "changes": {"patch": {"tick": {"set": {}}}}})
    with pytest.raises(DiffError, match="not a world_diff"):
        apply_diff(base, base)


def test_apply_diff_leaves_its_inputs_alone() -> None:
    base = _snap(1, {"agents": {"a1": {"x": 1, "needs": {"hunger": 0.5}}}, "kpis": {}})
    frozen = json.dumps(base, sort_keys=True)
    changes = {
        "patch": {"agents": {"patch": {"a1": {"patch": {"needs": {"set": {"hunger": 0.4}}}}}}}
    }
    diff = {"payload_type": "world_diff", "base_tick": 1, "tick": 2, "changes": changes}
    out = apply_diff(base, diff)
    assert json.dumps(base, sort_keys=True) == frozen
    assert out["agents"]["a1"]["needs"]["hunger"] == 0.4
    assert out["kpis"] is base["kpis"]  # untouched parts are shared, not copied


def test_tracker_follows_a_stream_and_forgets_after_a_gap() -> None:
    town = SyntheticTown(seed=1)
    snaps = [_snap(t, town.step()) for t in range(1, 5)]
    tracker = SnapshotTracker()
    tracker.observe(make_diff(snaps[0], snaps[1]))  # no base yet
    assert tracker.snapshot is None
    tracker.observe(snaps[0])
    tracker.observe(make_diff(snaps[0], snaps[1]))
    tracker.observe({"payload_type": "metric", "tick": 2})
    assert tracker.snapshot == snaps[1]
    assert tracker.snapshot is not snaps[1]  # its own copy
    tracker.observe(make_diff(snaps[2], snaps[3]))  # skipped tick 3: a gap
    assert tracker.snapshot is None
    tracker.observe(snaps[3])
    assert tracker.snapshot == snaps[3]
