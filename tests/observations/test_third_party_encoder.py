"""docs/examples' encoder, written against the published rows view only, encodes real towns."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import EXAMPLES
from tests.env.helpers import run_scripted, world
from townlet.core.ports import ObservationEncoder
from townlet.core.registry import Registry
from townlet.core.world.rows import TownRows

SOURCE = EXAMPLES / "townlet-example-encoder" / "src" / "townlet_example_encoder" / "__init__.py"


def test_the_example_imports_only_the_published_contract() -> None:
    tree = ast.parse(SOURCE.read_text())
    modules = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("townlet")
    }
    assert modules == {"townlet.core.ports", "townlet.core.observations.spec"}


@pytest.fixture
def compass(with_examples: Path) -> ObservationEncoder:
    registry = Registry()
    info = registry.find("observation_encoders", "compass")
    assert info.dist == "townlet-example-encoder" and info.version == "0.1.0"
    enc: ObservationEncoder = registry.build("observation_encoders", "compass")
    assert isinstance(enc, ObservationEncoder)
    return enc


def test_it_encodes_the_default_town(compass: ObservationEncoder) -> None:
    w = world()
    run_scripted(w, 120)
    arrays = compass.encode(TownRows.of(w))
    spec = compass.spec
    assert list(arrays) == ["compass"]
    vec = arrays["compass"]
    assert vec.shape == (w.n_agents, *spec["compass"].shape) and vec.dtype == np.float32
    assert spec.violations(dict(arrays)) == []
    alive = w.agents.alive
    np.testing.assert_array_equal(vec[alive, :3], w.agents.needs[alive])
    assert (vec[alive, 6:] < 1.0).all()  # every landmark is reachable in the default town


def test_it_encodes_the_towns_of_a_vector_env(with_examples: Path) -> None:
    pytest.importorskip("pettingzoo")
    from townlet.core.env import VectorTownEnv

    venv = VectorTownEnv(3, encoder="compass", horizon=50)
    obs, _ = venv.reset(seed=4)
    venv.worlds[1].set_weather("rainy")  # one town with its own path fields
    for _ in range(20):
        obs, *_ = venv.step(np.zeros(venv.num_rows, dtype=np.int64))
    assert obs["compass"].shape == (venv.num_rows, len(venv.spec["compass"].features))
    assert venv.spec.violations(dict(obs)) == []
    enc = venv.towns[0].encoder
    for t, w in enumerate(venv.worlds):
        alone = enc.encode(TownRows.of(w))["compass"]
        np.testing.assert_array_equal(obs["compass"][t * venv.slots : (t + 1) * venv.slots], alone)


def test_the_plugin_guide_shows_the_tested_code() -> None:
    doc = (EXAMPLES.parent / "plugins.md").read_text()
    source = SOURCE.read_text()
    start = "class CompassParams"
    blocks = [b.split("```", 1)[0] for b in doc.split("```python\n")[1:]]
    (code,) = [b for b in blocks if start in b]
    assert code[code.index(start) :].strip() == source[source.index(start) :].strip()
