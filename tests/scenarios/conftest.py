"""Fixtures for scenario tests: the docs example scenario pack, installed."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "townlet-example-scenario"


@pytest.fixture(scope="session")
def example_scenario_site() -> Iterator[Path]:
    """docs/examples/townlet-example-scenario pip-installed into a private directory."""
    with tempfile.TemporaryDirectory(prefix="townlet-example-scenario-") as tmp:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "--target",
                tmp,
                str(EXAMPLE),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, f"installing the example scenario failed:\n{proc.stderr}"
        yield Path(tmp)


@pytest.fixture
def with_example_scenario(example_scenario_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the installed example scenario pack visible to this process."""
    monkeypatch.syspath_prepend(str(example_scenario_site))
    return example_scenario_site
