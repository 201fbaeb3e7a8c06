"""Shared fixtures: temporary installed plugins, the example packages, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import pip_install_into

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "docs" / "examples"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(
    *args: str,
    extra_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> CliResult:
    """Run ``townlet ARGS`` in a fresh interpreter (clean sys.modules)."""
    full_env = dict(os.environ)
    if extra_path is not None:
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(extra_path), full_env.get("PYTHONPATH", "")) if p
        )
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "townlet.core", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """``cli("plugins", "list", extra_path=...)`` runs the CLI in a subprocess."""
    return run_cli


@pytest.fixture(scope="session")
def example_plugins() -> Iterator[Path]:
    """The docs/examples packages pip-installed into a private target directory."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="townlet-examples-") as tmp:
        target = Path(tmp)
        pip_install_into(
            target,
            EXAMPLES / "townlet-example-strategy",
            EXAMPLES / "townlet-example-encoder",
            EXAMPLES / "townlet-broken-plugin",
            what="the example plugins",
        )
        yield target


@pytest.fixture
def with_examples(example_plugins: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the installed example packages visible to this process."""
    monkeypatch.syspath_prepend(str(example_plugins))
    return example_plugins


MakeDist = Callable[..., Path]


@pytest.fixture
def make_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeDist]:
    """Install a throwaway distribution (dist-info + module) on sys.path.

    ``make_dist(name, version, entry_points={group: {ep: value}}, modules={mod: src},
    requires=[...])`` writes what pip would and returns the site directory. The
    directory is removed from sys.path and the modules from sys.modules after.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created: list[str] = []

    def make(
        name: str,
        version: str = "1.0",
        *,
        entry_points: Mapping[str, Mapping[str, str]],
        modules: Mapping[str, str] | None = None,
        requires: tuple[str, ...] = (),
    ) -> Path:
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
        meta += [f"Requires-Dist: {r}" for r in requires]
        (info / "METADATA").write_text("\n".join(meta) + "\n")
        lines = []
        for group, eps in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{ep} = {value}" for ep, value in eps.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for mod, src in (modules or {}).items():
            (site / f"{mod}.py").write_text(textwrap.dedent(src))
            created.append(mod)
        return site

    yield make
    for mod in created:
        sys.modules.pop(mod, None)


@pytest.fixture
def sink_plugin_src() -> str:
    """Source of a small but complete telemetry-sink plugin module."""
    return _PLUGIN_SRC


_PLUGIN_SRC = '''
from typing import ClassVar
from pydantic import BaseModel, ConfigDict, Field


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rate: float = Field(0.5, gt=0, le=1, description="A rate in (0, 1].")


class Sink:
    """A sink that remembers events."""

    Params: ClassVar[type[BaseModel]] = Params
    plugin_api_version: ClassVar[str] = "2.0"

    def __init__(self, params):
        self.params = params
        self.events = []

    def start(self): pass
    def emit(self, event): self.events.append(event)
    def stop(self): pass
'''
