"""Pydantic models of a run config.

Every model is frozen and forbids unknown keys. Paths typed
:data:`ConfigPath` are resolved relative to the YAML file that set them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from townlet.core.config_base import ConfigModel, ConfigPath, PluginChoice
from townlet.core.console.config import ConsoleConfig
from townlet.core.telemetry.config import TelemetryConfig
from townlet.core.world.settings import WorldConfig

__all__ = [
    "DEFAULT_REWARD_STAGES",
    "ConfigPath",
    "FeaturesConfig",
    "ObservationsConfig",
    "PluginChoice",
    "PolicyConfig",
    "RewardsConfig",
    "StagesConfig",
    "TelemetryConfig",
    "TownletConfig",
    "TrainingConfig",
]


class StagesConfig(ConfigModel):
    """Curriculum feature stages (SPEC §14)."""

    relationships: Literal["off", "A", "B", "C"] = Field(
        "off", description="off: no ledger; A: ledger only; B: + observations; C: + behaviour."
    )
    social_rewards: Literal["off", "C1", "C2", "C3"] = Field(
        "off",
        description="off, C1 chat reward, C2 + conflict avoidance, C3 + relationship quality.",
    )


class FeaturesConfig(ConfigModel):
    """Feature flags."""

    stages: StagesConfig = Field(default_factory=StagesConfig)
    lifecycle: bool = Field(False, description="Exits and replacement spawns.")
    curriculum: Literal["M0", "M1", "M2", "M2.5", "M3", "M4", "M5"] = Field(
        "M5", description="Curriculum stage; city-wide perturbations are locked out in M0-M2."
    )


class ObservationsConfig(ConfigModel):
    """Observation encoder selection."""

    encoder: str | None = Field(
        None, description="Observation encoder plugin name (None: hybrid, the default)."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Validated against the encoder's Params model."
    )


DEFAULT_REWARD_STAGES = (
    "homeostasis",
    "shaping",
    "work",
    "survival",
    "terminal",
    "social_chat",
    "social_avoidance",
    "social_quality",
    "social_floor",
    "death_guard",
    "clip",
)
"""The standard pipeline: terms first, then the guardrails (docs/rewards.md)."""


class RewardsConfig(ConfigModel):
    """Reward pipeline: stages applied in order, then optional normalisation."""

    stages: list[PluginChoice] = Field(
        default_factory=lambda: [PluginChoice(name=n) for n in DEFAULT_REWARD_STAGES],
        description="Reward stage plugins in order, each with its params; "
        "the list replaces the standard one.",
    )
    normalise: bool = Field(
        False, description="Divide rewards by their running std (logging stats are unaffected)."
    )
    normalise_warmup: int = Field(
        1000, ge=0, le=10**9, description="Agent-ticks before normalisation starts (0..10^9)."
    )
    normalise_clip: float = Field(
        10.0, gt=0, le=1000, description="Normalised rewards are clipped to ±this (0..1000]."
    )


class TrainingConfig(ConfigModel):
    """Training strategy selection."""

    strategy: str | None = Field(None, description="Training strategy plugin name.")
    params: dict[str, Any] = Field(default_factory=dict)


class PolicyConfig(ConfigModel):
    """The policy that drives citizens in ``townlet run``."""

    name: str = Field("scripted", description="Policy plugin name.")
    params: dict[str, Any] = Field(default_factory=dict)


class TownletConfig(ConfigModel):
    """One run of Townlet."""

    config_id: str = Field(min_length=1, description="Identifies the config in snapshots/logs.")
    seed: int = Field(0, ge=0, description="Seed of the world, events and policy RNG streams.")
    world: WorldConfig
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    observations: ObservationsConfig = Field(default_factory=ObservationsConfig)
    rewards: RewardsConfig = Field(default_factory=RewardsConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
