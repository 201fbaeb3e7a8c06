"""Golden fixtures: fixed-seed states encode to the stored arrays and names.

Regenerate after an intended encoder change with:

    python -m tools.golden_observations tests/observations/fixtures
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tools.golden_observations import (
    SEEDS,
    TICKS,
    encoders,
    fixture_config,
    restore_state,
)
from townlet.core.world.rows import TownRows
from townlet.core.world.world import World

FIXTURES = Path(__file__).parent / "fixtures"
REGEN = "python -m tools.golden_observations tests/observations/fixtures"


@pytest.mark.parametrize("seed", SEEDS)
def test_encodings_match_the_golden_fixtures(seed: int) -> None:
    data = np.load(FIXTURES / f"seed{seed}.npz")
    for enc in encoders():
        assert str(data[f"hash/{enc.name}"]) == enc.spec.hash, f"spec changed; run {REGEN}"
        assert list(data[f"names/{enc.name}"]) == enc.spec.feature_names()
    for i, _ in enumerate(TICKS):
        prefix = f"t{i}/state/"
        state = {k[len(prefix) :]: data[k] for k in data.files if k.startswith(prefix)}
        world = World.from_config(fixture_config(seed))
        restore_state(world, state)
        for enc in encoders():
            for comp, arr in enc.encode(TownRows.of(world)).items():
                want = data[f"t{i}/obs/{enc.name}/{comp}"]
                np.testing.assert_allclose(
                    arr, want, rtol=0, atol=1e-6, err_msg=f"{enc.name}.{comp} t{i}; {REGEN}"
                )


def test_fixtures_exercise_every_component() -> None:
    data = np.load(FIXTURES / f"seed{SEEDS[0]}.npz")
    for enc in encoders():
        for comp in enc.spec.names:
            stacked = np.stack([data[f"t{i}/obs/{enc.name}/{comp}"] for i in range(len(TICKS))])
            assert np.count_nonzero(stacked) > 0, f"{enc.name}.{comp} is all zeros"
        social = data[f"t2/obs/{enc.name}/social"]
        assert np.abs(social).sum() > 0
