"""Encoder specs: shapes, dtypes, names, bounds and hashes match the arrays."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from tests.env.helpers import run_scripted, world
from townlet.core.observations import Component, Feature, ObservationSpec
from townlet.core.observations.encoders import (
    CompactEncoder,
    CompactParams,
    FullEncoder,
    FullParams,
    HybridEncoder,
    HybridParams,
)
from townlet.core.registry import Registry
from townlet.core.world.rows import TownRows

ENCODERS = ("full", "hybrid", "compact")


@pytest.fixture(scope="module")
def busy_world():
    w = world("features.stages.relationships=B", "seed=3")
    run_scripted(w, 400)
    return w


@pytest.mark.parametrize("name", ENCODERS)
def test_arrays_match_the_spec_exactly(name: str, busy_world) -> None:
    enc = Registry().build("observation_encoders", name)
    spec: ObservationSpec = enc.spec
    arrays = enc.encode(TownRows.of(busy_world))
    assert list(arrays) == list(spec.names)
    for comp in spec.components:
        arr = arrays[comp.name]
        assert arr.dtype == np.dtype(comp.dtype) == np.float32
        assert arr.shape == (busy_world.n_agents, *comp.shape)
        assert arr.flags.c_contiguous
    assert spec.violations(dict(arrays)) == []
    names = spec.feature_names()
    assert len(names) == len(set(names)) == spec.size
    assert spec.flatten(dict(arrays)).shape == (busy_world.n_agents, spec.size)


def test_sizes_follow_the_spec_document() -> None:
    full = FullEncoder(FullParams()).spec
    hybrid = HybridEncoder(HybridParams()).spec
    compact = CompactEncoder(CompactParams()).spec
    assert full["map"].channels == (
        "self",
        "agents",
        "objects",
        "reservations",
        "path_dx",
        "path_dy",
    )
    assert hybrid["map"].channels == ("self", "agents", "objects", "reservations")
    assert full["map"].shape == (6, 11, 11)
    assert compact["window"].shape == (1, 7, 7)
    assert 500 <= hybrid.size <= 800 < full.size < 900
    assert compact.size < 200
    assert "scalars.ctx_reset_flag" in full.feature_names()
    landmark = [f.name for f in hybrid["scalars"].features if f.name.startswith("landmark.")]
    assert {n.split(".")[1] for n in landmark} == {"home", "workplace", "shower", "fridge", "till"}


def test_params_shape_the_spec_and_the_hash() -> None:
    base = FullEncoder(FullParams()).spec
    assert FullEncoder(FullParams()).spec.hash == base.hash
    small = FullEncoder(FullParams(window=7, social_k=2, personality=False)).spec
    assert small["map"].shape == (6, 7, 7)
    assert small.hash != base.hash
    assert not any(f.name.startswith("personality.") for f in small["scalars"].features)
    assert "window" not in CompactEncoder(CompactParams(window=0)).spec.names
    # the horizon changes values, not the layout
    assert FullEncoder(FullParams(horizon=50)).spec.hash == base.hash


def test_params_are_validated_with_bounds() -> None:
    with pytest.raises(ValidationError, match="odd"):
        FullParams(window=10)
    with pytest.raises(ValidationError):
        CompactParams(window=9)
    with pytest.raises(ValidationError):
        FullParams(nonsense=1)
    for model in (FullParams, HybridParams, CompactParams):
        assert model.model_config["extra"] == "forbid" and model.model_config["frozen"]
        assert all(f.description for f in model.model_fields.values())


def test_spec_serialises_canonically() -> None:
    spec = HybridEncoder(HybridParams()).spec
    doc = json.loads(spec.to_json())
    assert doc["encoder"] == "hybrid" and doc["version"] == "1.0"
    assert [c["name"] for c in doc["components"]] == ["map", "scalars", "social"]
    assert len(spec.hash) == 16 and int(spec.hash, 16) >= 0


def test_spec_rejects_inconsistent_components() -> None:
    f = Feature("a", 0, 1, "x")
    with pytest.raises(ValueError, match="features"):
        Component("v", (2,), (f,), "bad")
    with pytest.raises(ValueError, match="duplicate"):
        Component("v", (2,), (f, f), "bad")
    with pytest.raises(ValueError, match="duplicate component"):
        ObservationSpec("e", "1", (Component("v", (1,), (f,), ""), Component("v", (1,), (f,), "")))


def test_violations_name_what_is_wrong() -> None:
    spec = CompactEncoder(CompactParams()).spec
    arrays = spec.allocate(3)
    assert spec.violations(arrays) == []
    arrays["scalars"][1, 0] = 2.0
    arrays["social"][0, 0] = np.nan
    problems = spec.violations(arrays)
    assert any("need.hunger" in p for p in problems)
    assert any("NaN" in p for p in problems)
    arrays["scalars"] = arrays["scalars"].astype(np.float64)
    assert any("dtype" in p for p in spec.violations(arrays))
