"""Fixtures for scenario tests: the docs example scenario pack, installed."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import pip_install_into

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "townlet-example-scenario"


@pytest.fixture(scope="session")
def example_scenario_site() -> Iterator[Path]:
    """docs/examples/townlet-example-scenario pip-installed into a private directory."""
    with tempfile.TemporaryDirectory(prefix="townlet-example-scenario-") as tmp:
        pip_install_into(Path(tmp), EXAMPLE, what="the example scenario")
        yield Path(tmp)


@pytest.fixture
def with_example_scenario(example_scenario_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the installed example scenario pack visible to this process."""
    monkeypatch.syspath_prepend(str(example_scenario_site))
    return example_scenario_site
