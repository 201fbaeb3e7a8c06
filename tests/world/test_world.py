"""The default town with scripted citizens: acceptance, determinism, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import default_config, make_world, run_scripted
from townlet.core.world.invariants import violations
from townlet.core.world.state import MILLS
from townlet.core.world.world import World

THREE_DAYS = 3000


@pytest.mark.parametrize("seed", range(5))
def test_scripted_citizens_thrive_in_the_default_town(seed: int) -> None:
    world = make_world(f"seed={seed}")
    problems: list[str] = []
    run_scripted(world, THREE_DAYS, lambda w: problems.extend(violations(w)))
    a = world.agents
    assert problems == []
    assert a.alive.all()
    healthy = world.agents.ok_ticks / world.agents.alive_ticks
    assert healthy.min() >= 0.90, healthy
    attendance = a.present_ticks[a.job >= 0] / a.scheduled_ticks[a.job >= 0]
    assert attendance.min() >= 0.90, attendance
    assert (world.objects.holder == -1).sum() >= len(world.town.object_ids) - 8


def test_citizens_really_live_in_town() -> None:
    world = make_world()
    start = world.agents.xy.copy()
    run_scripted(world, 1001)  # through the first midnight (rent)
    done = world.kpi.completions
    assert done["eat"] > 0 and done["shower"] > 0 and done["sleep"] > 0 and done["cook"] > 0
    assert world.kpi.steps > 1000
    assert not np.array_equal(start, world.agents.xy)
    assert world.economy.ledger["wage"] > 0 and world.economy.ledger["rent"] < 0


def test_same_seed_same_run_different_seed_differs() -> None:
    def hashes(seed: int) -> list[str]:
        world = make_world(f"seed={seed}")
        out: list[str] = []
        run_scripted(
            world, 2000, lambda w: out.append(w.state_hash()) if w.tick % 500 == 0 else None
        )
        return out

    first = hashes(7)
    assert first == hashes(7)
    assert first[-1] != hashes(8)[-1]


def test_one_tick_steps_at_most_one_tile() -> None:
    world = make_world()
    before = world.agents.xy.copy()

    def check(w) -> None:
        nonlocal before
        moved = np.abs(w.agents.xy.astype(int) - before).sum(axis=1)
        assert (moved <= 1).all()
        before = w.agents.xy.copy()

    run_scripted(world, 500, check)


disturbance = st.one_of(
    st.tuples(st.just("utility"), st.sampled_from(["power", "water"]), st.booleans()),
    st.tuples(st.just("price"), st.integers(0, 2), st.floats(0.5, 3.0)),
    st.tuples(st.just("teleport"), st.integers(0, 7), st.integers(0, 47), st.integers(0, 47)),
    st.tuples(st.just("close"), st.integers(0, 47), st.integers(0, 47), st.integers(1, 4)),
    st.tuples(st.just("weather"), st.sampled_from(["sunny", "rainy", "cold"])),
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    events=st.lists(st.tuples(st.integers(0, 1999), disturbance), max_size=25),
)
def test_fuzz_disturbances_keep_the_world_sound(seed: int, events: list) -> None:
    """6 examples × 2,000 ticks: random seeds, map edits, outages, prices, teleports."""
    world = World.from_config(default_config(f"seed={seed}"))
    schedule: dict[int, list] = {}
    for tick, event in events:
        schedule.setdefault(tick, []).append(event)

    def disturb(w) -> None:
        for event in schedule.get(w.tick, []):
            kind = event[0]
            if kind == "utility":
                w.set_utility(event[1], event[2], until=w.tick + 50)
            elif kind == "price":
                w.economy.set_multiplier(event[1], event[2])
            elif kind == "teleport":
                _, slot, x, y = event
                if w.walkable[y, x] and w.object_at[y, x] < 0:
                    w.teleport(slot, x, y)
            elif kind == "close":
                _, x, y, size = event
                closed = np.zeros(w.town.shape, dtype=bool)
                closed[y : y + size, x : x + size] = True
                w.close_tiles(closed)
            else:
                w.set_weather(event[1])
        problems = violations(w)
        assert problems == [], (w.tick, problems)

    run_scripted(world, 2000, disturb)
    assert world.economy.balanced(world.agents)
    assert int(world.agents.wallet.sum()) == sum(world.economy.ledger.values())
    assert world.agents.wallet.dtype == np.int64 and MILLS == 1000
