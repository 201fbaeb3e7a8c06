"""The `random` policy: uniform over legal options, reproducible from the policy stream."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from townlet.core.config.loader import load_config
from townlet.core.config.models import TownletConfig
from townlet.core.policies.random import RandomPolicy, RandomPolicyParams
from townlet.core.ports import OPTIONS, BatchPolicy, Policy
from townlet.core.registry import Registry
from townlet.core.runtime import build_runtime
from townlet.core.world.rows import TownRows

WAIT = OPTIONS.index("wait")


def _config() -> TownletConfig:
    return load_config(None).config  # the built-in town


@settings(max_examples=200, deadline=None)
@given(
    masks=arrays(bool, st.tuples(st.integers(1, 40), st.just(len(OPTIONS)))), seed=st.integers(0)
)
def test_never_picks_a_masked_option(masks: np.ndarray, seed: int) -> None:
    policy = RandomPolicy(RandomPolicyParams())
    policy.rng = np.random.default_rng(seed)
    chosen = policy.choose(masks)
    legal = masks.any(axis=1)
    assert masks[np.arange(len(masks)), chosen][legal].all()
    assert (chosen[~legal] == WAIT).all()


@settings(max_examples=50, deadline=None)
@given(masks=arrays(bool, st.tuples(st.integers(1, 20), st.just(len(OPTIONS)))))
def test_allowed_options_narrow_the_draw(masks: np.ndarray) -> None:
    policy = RandomPolicy(RandomPolicyParams(options=("sleep", "get_fed")))
    chosen = policy.choose(masks)
    allowed = {OPTIONS.index("sleep"), OPTIONS.index("get_fed")}
    assert set(chosen.tolist()) <= allowed | {WAIT}


def test_draw_is_uniform_over_legal_options() -> None:
    policy = RandomPolicy(RandomPolicyParams())
    masks = np.zeros((20_000, len(OPTIONS)), dtype=bool)
    masks[:, [0, 2, 5]] = True
    counts = np.bincount(policy.choose(masks), minlength=len(OPTIONS))
    assert counts[[1, 3, 4, 6]].sum() == 0
    assert np.allclose(counts[[0, 2, 5]] / len(masks), 1 / 3, atol=0.02)


def _run(seed: int, ticks: int = 30) -> list[np.ndarray]:
    rt = build_runtime(_config(), towns=1)
    world = rt.world(0, seed)
    policy = Registry().build("policies", "random")
    policy.reset(world, world.rng.policy)
    out = []
    for _ in range(ticks):
        actions = policy.act(world)
        out.append(actions)
        world.step(actions)
    return out


def test_deterministic_per_seed_and_legal_in_a_town() -> None:
    a, b, c = _run(3), _run(3), _run(4)
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
    assert any((x != y).any() for x, y in zip(a, c, strict=True))


def test_act_many_matches_act_for_one_town() -> None:
    rt = build_runtime(_config(), towns=1)
    world = rt.world(0, 5)
    one, many = RandomPolicy(RandomPolicyParams()), RandomPolicy(RandomPolicyParams())
    one.reset(world, np.random.default_rng(9))
    many.reset(world, np.random.default_rng(9))
    assert (one.act(world) == many.act_many(TownRows([world]))).all()


def test_registered_and_typed() -> None:
    policy = Registry().build("policies", "random", {"options": ["wait"]})
    assert isinstance(policy, Policy) and isinstance(policy, BatchPolicy)
    with pytest.raises(ValidationError, match="subset"):
        RandomPolicyParams(options=("fly",))
