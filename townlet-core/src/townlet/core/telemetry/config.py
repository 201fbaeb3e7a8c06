"""The ``telemetry`` section of a run config."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from townlet.core.config.base import PluginChoice

__all__ = ["TelemetryConfig"]


class TelemetryConfig(BaseModel):
    """Telemetry sinks, all fed the same events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sinks: list[PluginChoice] = Field(default_factory=list)
