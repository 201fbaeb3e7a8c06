"""Persisted state: one schema for capture, restore and the state hash."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import make_world, run_scripted
from townlet.core.world.persist import StateMismatch, capture, restore
from townlet.core.world.world import World

RICH = (
    "seed=4",
    "features.lifecycle=true",
    "features.stages.relationships=C",
    "world.perturbations.enabled=true",
    "world.perturbations.blackout.probability_per_day=3",
    "world.perturbations.facility_closure.probability_per_day=3",
)


@pytest.fixture(scope="module")
def busy() -> World:
    """A town some way into a run with every part in use (ties, exits, perturbations)."""
    w = make_world(*RICH)
    run_scripted(w, 700)
    w.agents.possessed[1] = True
    w.force_option(1, 5)
    w.agents.employable[2] = False
    return w


def _equal(
    a: tuple[dict[str, Any], dict[str, Any]], b: tuple[dict[str, Any], dict[str, Any]]
) -> bool:
    arrays_a, state_a = a
    arrays_b, state_b = b
    return (
        arrays_a.keys() == arrays_b.keys()
        and all(
            arrays_a[k].dtype == arrays_b[k].dtype and np.array_equal(arrays_a[k], arrays_b[k])
            for k in arrays_a
        )
        and state_a == state_b
    )


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to the numeric leaves of a JSON-able value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path


def _bumped(state: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(state)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = node[path[-1]] + 1
    return out


def test_every_per_slot_array_lives_in_the_agent_store(busy: World) -> None:
    arrays, _ = capture(busy)
    n = busy.n_agents
    for name, arr in arrays.items():
        if arr.ndim and arr.shape[0] == n and not name.startswith("agents."):
            pytest.fail(f"{name} is per slot but outside the agent store")
    assert {"agents.option_status", "agents.tie_trust", "agents.ok_ticks"} <= arrays.keys()


def test_equal_state_gives_equal_hash() -> None:
    one, two = make_world(*RICH), make_world(*RICH)
    run_scripted(one, 300)
    run_scripted(two, 300)
    assert one.state_hash() == two.state_hash()
    copy_of_one = make_world(*RICH)
    restore(copy_of_one, *capture(one))
    assert copy_of_one.state_hash() == one.state_hash()
    assert _equal(capture(copy_of_one), capture(one))
    run_scripted(one, 1)
    assert one.state_hash() != two.state_hash()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_changing_any_persisted_array_changes_the_hash(busy: World, data: st.DataObject) -> None:
    before = busy.state_hash()
    section = data.draw(st.sampled_from(sorted(busy.stateful())))
    live = {
        k: v for k, v in busy.stateful()[section].state_dict().items() if isinstance(v, np.ndarray)
    }
    if not live:
        return
    name = data.draw(st.sampled_from(sorted(live)))
    arr = live[name]
    if arr.size == 0:
        return
    index = np.unravel_index(data.draw(st.integers(0, arr.size - 1)), arr.shape)
    old = arr[index].copy()
    was_writeable = arr.flags.writeable
    arr.flags.writeable = True  # the map's own walkable array is read-only
    try:
        arr[index] = ~old if arr.dtype == bool else old + 1
        assert busy.state_hash() != before, f"{section}.{name}{list(index)}"
    finally:
        arr[index] = old
        arr.flags.writeable = was_writeable
    assert busy.state_hash() == before


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_changing_any_persisted_value_changes_the_hash(busy: World, data: st.DataObject) -> None:
    before = busy.state_hash()
    parts = {k: v for k, v in busy.stateful().items() if k != "rng"}  # rng: below
    section = data.draw(st.sampled_from(sorted(parts)))
    part = parts[section]
    state = {k: v for k, v in part.state_dict().items() if not isinstance(v, np.ndarray)}
    leaves = list(_leaves(state))
    if not leaves:
        return
    path = data.draw(st.sampled_from(leaves))
    arrays = {k: v.copy() for k, v in part.state_dict().items() if isinstance(v, np.ndarray)}
    saved = copy.deepcopy(state)
    part.load_state_dict({**_bumped(state, path), **arrays})
    try:
        assert busy.state_hash() != before, f"{section}.{path}"
    finally:
        part.load_state_dict({**saved, **arrays})
    assert busy.state_hash() == before


def test_rng_streams_are_part_of_the_hash(busy: World) -> None:
    before = busy.state_hash()
    for name in ("world", "events", "policy"):
        saved = busy.rng.state_dict()
        getattr(busy.rng, name).random()
        assert busy.state_hash() != before, name
        busy.rng.load_state_dict(saved)
        assert busy.state_hash() == before


def test_each_part_round_trips_its_state_dict() -> None:
    w = make_world(*RICH)
    run_scripted(w, 500)
    saved = {
        section: {
            k: v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v)
            for k, v in part.state_dict().items()
        }
        for section, part in w.stateful().items()
    }
    whole = capture(w)
    run_scripted(w, 300)
    assert not _equal(capture(w), whole)
    for section, part in w.stateful().items():
        part.load_state_dict(saved[section])
        now = part.state_dict()
        assert now.keys() == saved[section].keys(), section
        for key, value in now.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(
                    value, saved[section][key], err_msg=f"{section}.{key}"
                )
            else:
                assert value == saved[section][key], f"{section}.{key}"
    assert _equal(capture(w), whole)


def test_restore_writes_agent_arrays_in_place() -> None:
    w = make_world(*RICH)
    views = w.agents.arrays()
    source = make_world(*RICH)
    run_scripted(source, 200)
    restore(w, *capture(source))
    for name, arr in w.agents.arrays().items():
        assert arr is views[name], name
    assert w.relations.trust is w.agents.tie_trust
    assert w.state_hash() == source.state_hash()


def _missing_array(arrays: dict[str, Any], state: dict[str, Any]) -> None:
    del arrays["agents.tie_rivalry"]


def _extra_array(arrays: dict[str, Any], state: dict[str, Any]) -> None:
    arrays["agents.stage"] = np.zeros_like(arrays["agents.option"])


def _wrong_dtype(arrays: dict[str, Any], state: dict[str, Any]) -> None:
    arrays["agents.ok_ticks"] = arrays["agents.ok_ticks"].astype(np.int32)


def _wrong_shape(arrays: dict[str, Any], state: dict[str, Any]) -> None:
    arrays["economy.stock"] = arrays["economy.stock"][:1]


def _missing_section(arrays: dict[str, Any], state: dict[str, Any]) -> None:
    del state["narrator"]


def _missing_key(arrays: dict[str, Any], state: dict[str, Any]) -> None:
    del state["lifecycle"]["pending"]


def _slot_count(arrays: dict[str, Any], state: dict[str, Any]) -> None:
    state["world"]["agent_ids"] = state["world"]["agent_ids"][:-1]


def _wrong_kind(arrays: dict[str, Any], state: dict[str, Any]) -> None:
    state["world"]["tick"] = "noon"


def _unknown_place(arrays: dict[str, Any], state: dict[str, Any]) -> None:
    state["world"]["closures"] = ["atlantis"]


@pytest.mark.parametrize(
    "spoil",
    [
        _missing_array,
        _extra_array,
        _wrong_dtype,
        _wrong_shape,
        _missing_section,
        _missing_key,
        _slot_count,
        _unknown_place,
        _wrong_kind,
    ],
)
def test_a_mismatch_changes_nothing(spoil: Any) -> None:
    source = make_world(*RICH)
    run_scripted(source, 400)
    arrays, state = capture(source)
    spoil(arrays, state)
    target = make_world(*RICH)
    run_scripted(target, 50)
    before = capture(target)
    with pytest.raises(StateMismatch):
        restore(target, arrays, state)
    assert _equal(capture(target), before)
