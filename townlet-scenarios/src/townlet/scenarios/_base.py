"""The base of every scenario in this package: a config and a baseline by name."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import ClassVar

from townlet.core.ports import PluginParams

__all__ = ["PackScenario", "ScenarioParams"]

_ROOT = Path(str(importlib.resources.files("townlet.scenarios")))


class ScenarioParams(PluginParams):
    """Scenarios of this package take no parameters (override config keys with ``--set``)."""


class PackScenario:
    """A scenario whose config is ``configs/<config_file>`` and whose golden
    baseline is ``baselines/<name>.yaml`` inside this package."""

    Params: ClassVar[type[PluginParams]] = ScenarioParams
    plugin_api_version: ClassVar[str] = "2.1"

    name: ClassVar[str]
    """Entry-point name."""
    config_file: ClassVar[str]
    """Config path relative to ``configs/``."""
    description: ClassVar[str]
    exercises: ClassVar[str]
    ticks: ClassVar[int]

    def __init__(self, params: PluginParams | None = None) -> None:
        self.params = params or ScenarioParams()

    def config_path(self) -> Path:
        """The scenario's YAML config."""
        return _ROOT / "configs" / self.config_file

    def baseline_path(self) -> Path | None:
        """The scenario's golden baseline, if it has one."""
        path = _ROOT / "baselines" / f"{self.name}.yaml"
        return path if path.is_file() else None
