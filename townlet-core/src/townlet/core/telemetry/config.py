"""The ``telemetry`` section of a run config."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from townlet.core.config_base import PluginChoice

__all__ = ["TelemetryConfig"]


class TelemetryConfig(BaseModel):
    """Telemetry sinks, all fed the same events, and how the hub feeds them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sinks: list[PluginChoice] = Field(
        default_factory=list,
        description="Sinks by entry-point name with their params; every sink gets every event.",
    )
    world_every: int = Field(
        1,
        ge=1,
        le=1_000_000,
        description=(
            "Publish the world every N ticks (1..1000000); events and narration of the "
            "skipped ticks are carried into the next published message."
        ),
    )
    health_every: int = Field(
        1000,
        ge=0,
        le=100_000_000,
        description="Emit a health payload every N ticks (0..100000000; 0: only at stop).",
    )
    buffer_messages: int = Field(
        10_000,
        ge=1,
        le=10_000_000,
        description="Most messages queued per sink (1..10000000); the oldest are dropped beyond.",
    )
    buffer_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        le=16 * 1024**3,
        description="Most memory held by the messages queued per sink (1 KiB..16 GiB): their "
        "objects and JSON, about 11 times the JSON's size; the oldest are dropped.",
    )
    flush_timeout_s: float = Field(
        5.0,
        ge=0,
        le=600,
        description="Seconds (0..600) stop() waits for sinks to drain before dropping the rest.",
    )
    privacy: bool = Field(
        False,
        description="Hash agent ids and names (also inside narration text) in every payload.",
    )
    privacy_salt: str | None = Field(
        None,
        min_length=8,
        max_length=256,
        description=(
            "Salt for privacy hashing (8..256 characters). Default: a fresh random salt per "
            "run, so hashes are stable within a run and unlinkable across runs."
        ),
    )
