"""A third-party scenario pack with one scenario, ``rush_hour``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class RushHourParams(BaseModel):
    """No parameters: override config keys with ``--set``."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RushHour:
    """Rain and dear café meals just as everyone heads to work."""

    Params: ClassVar[type[BaseModel]] = RushHourParams
    plugin_api_version: ClassVar[str] = "2.1"
    description: ClassVar[str] = "Rain and dear café meals just as everyone heads to work."
    exercises: ClassVar[str] = "weather, prices, punctuality"
    ticks: ClassVar[int] = 600

    def __init__(self, params: RushHourParams) -> None:
        self.params = params

    def config_path(self) -> Path:
        """The scenario's YAML, shipped next to this module."""
        return Path(__file__).with_name("rush_hour.yaml")

    def baseline_path(self) -> Path | None:
        """No golden baseline (``townlet scenarios check`` skips it)."""
        return None
