"""Decision points: exactly the rows whose chosen option takes effect; capture records them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from townlet.core.config.loader import load_config
from townlet.core.env.vector import VectorTownEnv
from townlet.core.training import ReplayDataset
from townlet.core.training.capture import RolloutCapture
from townlet.core.training.decisions import deciding_rows


def test_deciding_rows_are_the_rows_whose_choice_takes_effect() -> None:
    env = VectorTownEnv(2, load_config(None).config)
    env.reset(seed=4)
    rng = np.random.default_rng(0)
    a = env.agent_rows
    switched = held = 0
    for _ in range(120):
        deciding = deciding_rows(env)
        masks = env.buffers["action_mask"]
        # a random legal option for every row: only the deciding rows may switch to it
        choice = np.array([rng.choice(np.flatnonzero(m)) if m.any() else 0 for m in masks])
        before = a.option.copy()
        env.step(choice)
        if env.worlds[0].tick == 0:  # the towns reset: a new episode's rows
            continue
        assert (a.option[~deciding] == before[~deciding]).all()
        assert (a.option[deciding] == choice[deciding]).all()
        switched += int(np.count_nonzero(deciding & (choice != before)))
        held += int(np.count_nonzero(~deciding & a.alive))
    assert switched > 0 and held > 0  # both kinds of rows were seen


def test_capture_records_decision_points(tmp_path: Path) -> None:
    config = load_config(None).config
    manifest = RolloutCapture(config).capture(
        "scripted", ticks=40, towns=1, seed=2, output_dir=tmp_path / "cap"
    )
    a = ReplayDataset.from_manifest(manifest).arrays
    assert a["decided"].dtype == np.bool_
    assert not (a["decided"] & ~a["acted"]).any()
    assert a["decided"].reshape(40, -1)[0].all()  # everyone chooses on the first tick
    assert 0 < np.count_nonzero(a["decided"]) < np.count_nonzero(a["acted"])
    # replaying the recorded options from the same seed meets the same decision points
    env = VectorTownEnv(1, config)
    env.reset(seed=2)
    for decided, actions in zip(
        a["decided"].reshape(40, -1), a["actions"].reshape(40, -1), strict=True
    ):
        np.testing.assert_array_equal(deciding_rows(env), decided)
        env.step(actions)
