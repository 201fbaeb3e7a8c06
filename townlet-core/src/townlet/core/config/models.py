"""Pydantic models of a run config.

Every model is frozen and forbids unknown keys. Paths typed
:data:`ConfigPath` are resolved relative to the YAML file that set them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from townlet.core.config_base import ConfigModel, ConfigPath, PluginChoice, _PathMarker
from townlet.core.console.config import ConsoleConfig
from townlet.core.console.timeline import TimelineEvent, check_stage
from townlet.core.stability.canaries import StabilityParams
from townlet.core.telemetry.config import TelemetryConfig
from townlet.core.world.settings import WorldConfig

__all__ = [
    "DEFAULT_REWARD_STAGES",
    "ConfigPath",
    "FeaturesConfig",
    "ObservationsConfig",
    "PluginChoice",
    "PolicyConfig",
    "RayConfig",
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


# Marked as a whole, so the loader resolves them against the config file: it does not
# look for the marker inside list[...] or ... | None.
_OptionalPath = Annotated[Path | None, _PathMarker()]
_PathList = Annotated[list[Path], _PathMarker()]


class RayConfig(ConfigModel):
    """Where and how wide ``training.backend: ray`` runs (docs/scale-out.md)."""

    address: str = Field(
        "",
        pattern=r"^(|auto|ray://\S+|[^\s:/]+:\d+)$",
        description="Ray cluster to join: empty starts a local Ray runtime; 'auto' joins the "
        "cluster of this machine (ray start --head); ray://host:port a remote one.",
    )
    num_workers: int = Field(
        2, ge=1, le=4096, description="Rollout worker actors (1..4096), one CPU policy copy each."
    )
    towns_per_worker: int | None = Field(
        None,
        ge=1,
        description="Towns each worker steps (≥ 1); null: training.towns split over the "
        "workers, rounded up.",
    )
    cpus_per_worker: float = Field(
        1.0, gt=0, le=256, description="CPUs Ray reserves for each worker actor (0..256]."
    )
    max_restarts: int = Field(
        3,
        ge=0,
        le=1000,
        description="Times a dead worker is replaced per epoch before the run fails (0..1000).",
    )


class TrainingConfig(ConfigModel):
    """What ``townlet train`` runs: the strategy, its data and its budget.

    The strategy reads these through ``context.settings``; its own
    hyperparameters are ``params``, validated by the strategy's ``Params`` model.
    """

    strategy: str | None = Field(None, description="Training strategy plugin name.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Strategy hyperparameters (the strategy's Params model)."
    )
    mode: Literal["rollout", "replay", "mixed"] = Field(
        "rollout",
        description="Data source: fresh rollouts each epoch, captured replay samples, or both.",
    )
    epochs: int | None = Field(
        None, ge=1, description="Epochs to train (≥ 1); null: the strategy's default or budget."
    )
    total_steps: int | None = Field(
        None, ge=1, description="Budget in agent-steps (≥ 1), like CleanRL's --total-timesteps."
    )
    rollout_ticks: int = Field(128, ge=1, description="Ticks per rollout per epoch (≥ 1).")
    towns: int = Field(8, ge=1, description="Towns stepped together in rollouts (≥ 1).")
    replay_samples: _PathList = Field(
        default_factory=list, description="Replay samples (NPZ or sidecar paths) to train from."
    )
    replay_manifest: _OptionalPath = Field(
        None, description="A replay manifest (or its directory) to train from."
    )
    device: str = Field("cpu", min_length=1, description="Device for the strategy: cpu, cuda, …")
    ppo_log: _OptionalPath = Field(
        None, description="A second file the epoch log is appended to (--ppo-log)."
    )
    backend: Literal["local", "ray"] = Field(
        "local",
        description="Where rollouts run: in this process, or on Ray actors (needs "
        "townlet-strategies[ray]; ppo only).",
    )
    ray: RayConfig = Field(
        default_factory=RayConfig, description="Ray cluster and workers (backend: ray)."
    )


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
    stability: StabilityParams = Field(
        default_factory=StabilityParams,
        description="Stability monitor of townlet run: window length and canary thresholds.",
    )
    timeline: list[TimelineEvent] = Field(
        default_factory=list,
        description="Scripted console commands at ticks (a scenario's events; docs/scenarios.md).",
    )

    @model_validator(mode="after")
    def _stage_allows_timeline(self) -> TownletConfig:
        check_stage(self.timeline, self.features.curriculum)
        return self
