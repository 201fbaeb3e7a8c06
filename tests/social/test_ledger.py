"""The relationships ledger: the SPEC event table, modifiers, cap and eviction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from townlet.core.world.relationships import EVENTS, TIES, Relationships
from townlet.core.world.state import AgentArrays

NEUTRAL = np.zeros((2, 3), dtype=np.float32)


def ledger(n: int, **rates: float) -> Relationships:
    """Relationships over a fresh agent store of ``n`` slots."""
    return Relationships(AgentArrays.allocate(n), **rates)


TABLE = [
    ("shared_meal", 1.0, (0.10, 0.25, 0.0)),
    ("queued_politely", 1.0, (0.05, 0.05, -0.05)),
    ("blocked", 1.0, (0.0, -0.05, 0.15)),
    ("shift_taken", 1.0, (-0.10, 0.0, 0.30)),
    ("helped_when_late", 1.0, (0.20, 0.10, -0.10)),
    ("good_chat", 0.6, (0.03, 0.06, 0.0)),
    ("failed_chat", 1.0, (0.0, -0.05, 0.05)),
]


@pytest.mark.parametrize(("event", "quality", "expected"), TABLE)
def test_event_table_row(event: str, quality: float, expected: tuple[float, float, float]) -> None:
    rel = ledger(2)
    rel.apply(event, 0, 1, NEUTRAL, quality)
    assert rel.tie(0, 1) == pytest.approx(expected, abs=1e-6)
    assert rel.tie(1, 0) == pytest.approx(expected, abs=1e-6)


def test_table_covers_every_event() -> None:
    assert {row[0] for row in TABLE} == set(EVENTS)


def personality(extroversion: float = 0, forgiveness: float = 0, ambition: float = 0) -> np.ndarray:
    return np.array([extroversion, forgiveness, ambition], dtype=np.float32)


def test_forgiveness_halves_harmful_deltas() -> None:
    assert Relationships.deltas("blocked", personality(forgiveness=1)) == pytest.approx(
        (0.0, -0.025, 0.075)
    )
    assert Relationships.deltas("shift_taken", personality(forgiveness=0.5)) == pytest.approx(
        (-0.075, 0.0, 0.225)
    )
    # helpful deltas are untouched
    assert Relationships.deltas("shared_meal", personality(forgiveness=1)) == pytest.approx(
        (0.10, 0.25, 0.0)
    )


def test_ambition_adds_rivalry_on_work_conflicts_only() -> None:
    assert Relationships.deltas("shift_taken", personality(ambition=1)) == pytest.approx(
        (-0.10, 0.0, 0.39)
    )
    assert Relationships.deltas("blocked", personality(ambition=1)) == pytest.approx(
        (0.0, -0.05, 0.15)
    )


def test_extroversion_adds_familiarity_on_good_chats() -> None:
    assert Relationships.deltas("good_chat", personality(extroversion=1), 1.0) == pytest.approx(
        (0.05, 0.12, 0.0)
    )
    assert Relationships.deltas("failed_chat", personality(extroversion=1)) == pytest.approx(
        (0.0, -0.05, 0.05)
    )


def test_admission_and_eviction_of_the_weakest() -> None:
    rel = ledger(TIES + 2)
    people = np.zeros((TIES + 2, 3), dtype=np.float32)
    for other in range(1, TIES + 1):
        rel.apply("shared_meal" if other > 1 else "queued_politely", 0, other, people)
    assert (rel.other[0] >= 0).all()
    rel.update(0, TIES + 1, 0.05, 0.05, 0.0)  # weak: |0.1| <= 0.2, row full -> refused
    assert TIES + 1 not in rel.other[0]
    rel.apply("shift_taken", 0, TIES + 1, people)  # |-0.1 + 0 - 0.3| = 0.4 > 0.2: admitted
    assert TIES + 1 in rel.other[0]
    assert 1 not in rel.other[0]  # the polite queue-mate was the weakest


def test_hourly_decay_and_faint_ties_dropped() -> None:
    rel = ledger(2, decay_per_hour=0.5, faint=0.02)
    rel.apply("blocked", 0, 1, NEUTRAL)
    rel.decay()
    assert rel.tie(0, 1) == pytest.approx((0.0, -0.025, 0.075))
    for _ in range(3):
        rel.decay()
    assert rel.tie(0, 1) == (0.0, 0.0, 0.0)
    assert (rel.other == -1).all()


events = st.lists(
    st.tuples(
        st.sampled_from(sorted(EVENTS)), st.integers(0, 9), st.integers(0, 9), st.floats(0, 1)
    ),
    max_size=300,
)


@given(events, st.lists(st.floats(-1, 1), min_size=30, max_size=30))
def test_ledger_never_exceeds_its_cap_and_stays_in_range(seq, traits) -> None:
    rel = ledger(10)
    people = np.array(traits, dtype=np.float32).reshape(10, 3)
    for event, a, b, quality in seq:
        if a != b:
            rel.apply(event, a, b, people, quality)
    for row in range(10):
        ties = rel.other[row][rel.other[row] >= 0]
        assert ties.size <= TIES
        assert len(set(ties.tolist())) == ties.size
        assert row not in ties
    for values in (rel.trust, rel.familiarity, rel.rivalry):
        assert (np.abs(values) <= 1.0).all()
    assert rel.other.nbytes + rel.trust.nbytes * 3 <= 1024 * 10  # < 1 KB per agent
