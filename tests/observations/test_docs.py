"""docs/observations.md is generated from the specs and must be current."""

from __future__ import annotations

from pathlib import Path

from tools.observation_docs import BEGIN, END, builtin_specs, reference_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "observations.md"


def test_observation_reference_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert block == reference_markdown(), (
        "regenerate with: python -m tools.observation_docs docs/observations.md"
    )


def test_reference_names_every_feature_of_every_encoder() -> None:
    text = reference_markdown()
    for spec in builtin_specs():
        assert spec.hash in text
        for comp in spec.components:
            for feature in comp.features:
                assert f"`{feature.name}`" in text
