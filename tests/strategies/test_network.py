"""The network: built from any encoder's spec, masked options never chosen."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies.helpers import config
from townlet.core.observations.build import build_encoder
from townlet.core.ports import OPTIONS
from townlet.strategies.network import ActorCritic

K = len(OPTIONS)


@pytest.fixture(scope="module", params=["hybrid", "full", "compact"])
def net(request: pytest.FixtureRequest) -> ActorCritic:
    spec = build_encoder(config(f"observations.encoder={request.param}")).spec
    torch.manual_seed(0)
    return ActorCritic(spec, K, hidden=32, lstm=request.param == "full")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 64), greedy=st.booleans())
def test_masked_options_are_never_chosen(net: ActorCritic, seed: int, n: int, greedy: bool) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((n, K)) < rng.uniform(0.05, 0.9)
    mask[np.arange(n), rng.integers(0, K, n)] = True  # at least one legal option per row
    obs = {
        name: torch.from_numpy((rng.normal(size=(n, *shape)) * 3).astype(np.float32))
        for name, shape in net.shapes.items()
    }
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        actions, logp, _, probs, _ = net.act(
            obs, torch.from_numpy(mask), greedy=greedy, generator=gen
        )
    assert mask[np.arange(n), actions.numpy()].all()
    assert (probs.numpy()[~mask] == 0).all()
    assert torch.isfinite(logp).all()
