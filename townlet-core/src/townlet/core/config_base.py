"""Base classes shared by every config section."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConfigModel", "ConfigPath", "PluginChoice"]


class _PathMarker:
    """Marks a field whose string value is a path relative to its config file."""


ConfigPath = Annotated[Path, _PathMarker()]


class ConfigModel(BaseModel):
    """Base of all config models: frozen, unknown keys rejected, numbers finite (NaN and
    infinities refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PluginChoice(ConfigModel):
    """A plugin picked by entry-point name, with its params."""

    name: str = Field(min_length=1, description="Entry-point name (or dist:name).")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Validated against the plugin's Params model."
    )
