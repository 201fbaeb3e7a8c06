"""Result and record DTOs of training: frozen pydantic models, unknown keys refused.

:class:`EpochRecord` is one line of the training log: the version 1.2 record
of :mod:`~townlet.core.training.records`, which ``townlet telemetry
validate/watch/summary`` read.
Its numbers must be finite: JSON has no NaN, and a diverged loss is better
caught where it is produced than in a log reader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from townlet.core.training.records import AnnealRatio, AnnealStage, TrainingRecordV1_2

__all__ = [
    "TELEMETRY_VERSION",
    "EpochRecord",
    "EvaluationReport",
    "PromotionDecision",
    "TrainingResult",
]

TELEMETRY_VERSION: Final = "1.2"
"""The training-log version :class:`EpochRecord` writes."""

DataMode = Literal["replay", "rollout", "mixed"]
PromotionState = Literal["candidate", "promoted", "rolled_back"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class EpochRecord(TrainingRecordV1_2):
    """One epoch of training statistics as strategies write it: the version 1.2
    record (:mod:`~townlet.core.training.records`) with its version filled in,
    rollout metrics defaulting to 0 and the anneal and promotion state to null."""

    model_config = ConfigDict(allow_inf_nan=False)

    telemetry_version: Literal["1.2"] = Field(
        TELEMETRY_VERSION, description="Record format version."
    )
    queue_conflict_events: int = Field(
        0,
        ge=0,
        description="Queue conflicts (blocked, cut-in, rivals colliding) in the rollouts (≥ 0).",
    )
    queue_conflict_intensity_sum: float = Field(
        0.0, ge=0, description="Sum of the intensities of those conflicts (≥ 0)."
    )
    anneal_ratio: AnnealRatio = None
    anneal_stage: AnnealStage = None


class TrainingResult(_Frozen):
    """What a strategy's run produced; the orchestrator writes it as ``result.json``."""

    strategy: str = Field(description="Name of the training strategy that ran.")
    config_id: str = Field(description="config_id of the resolved configuration trained on.")
    seed: int = Field(description="Seed of the run.")
    run_dir: Path = Field(description="The run directory holding the log, result and checkpoints.")
    mode: DataMode | None = Field(
        None, description="Where the data came from (replay, rollout or mixed); null if neither."
    )
    epochs: int = Field(ge=0, description="Epochs completed (≥ 0).")
    transitions: int = Field(ge=0, description="Agent-steps of experience consumed in all (≥ 0).")
    seconds: float = Field(ge=0, description="Wall-clock duration of the run in seconds (≥ 0).")
    stopped_early: bool = Field(
        False, description="True when the run stopped before its budget (Ctrl-C or a guard)."
    )
    final_metrics: dict[str, float] = Field(
        default_factory=dict,
        description="Metrics of the last epoch or evaluation, by name (e.g. losses/value_loss).",
    )
    last_epoch: EpochRecord | None = Field(
        None, description="The last epoch record written to the log; null when no epoch ran."
    )
    checkpoints: tuple[Path, ...] = Field(
        (), description="Checkpoint files written, oldest first (paths inside run_dir)."
    )
    policy: str | None = Field(
        None, description="Name of the Policy plugin that loads these checkpoints, if any."
    )


class EvaluationReport(_Frozen):
    """A fixed-seed evaluation of one policy; equal seeds make two reports comparable."""

    policy: str = Field(description="Name of the evaluated Policy plugin.")
    config_id: str = Field(description="config_id of the configuration evaluated on.")
    seeds: tuple[int, ...] = Field(
        min_length=1, description="Episode seeds in order; episode i ran with seeds[i]."
    )
    episodes: int = Field(ge=1, description="Number of episodes (one per seed, ≥ 1).")
    ticks: int = Field(ge=1, description="Simulation ticks per episode (≥ 1).")
    agents: int = Field(ge=0, description="Agent-episodes whose returns were counted (≥ 0).")
    mean_return: float = Field(description="Mean per-agent episode return over every episode.")
    return_ci95: tuple[float, float] = Field(
        description="95% confidence interval (low, high) of the mean per-agent return."
    )
    episode_returns: tuple[float, ...] = Field(
        description="Mean per-agent return of each episode, in seed order (for paired comparison)."
    )
    kpis: dict[str, float] = Field(
        default_factory=dict,
        description="KPIs averaged over episodes: self_sufficiency, attendance, lateness, "
        "conflicts, chats, exits.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> EvaluationReport:
        if len(self.seeds) != self.episodes or len(self.episode_returns) != self.episodes:
            raise ValueError(
                f"episodes={self.episodes} but {len(self.seeds)} seeds and "
                f"{len(self.episode_returns)} episode returns"
            )
        low, high = self.return_ci95
        if not low <= self.mean_return <= high:
            raise ValueError(f"return_ci95 ({low}, {high}) must contain mean_return")
        return self


class PromotionDecision(_Frozen):
    """Whether a candidate policy replaces the release, after one evaluation window."""

    candidate: str = Field(description="The candidate policy (plugin name or checkpoint path).")
    release: str = Field(description="The pinned release policy it is compared with.")
    window: int = Field(ge=1, description="1-based index of the evaluation window (≥ 1).")
    passed: bool = Field(description="Whether the candidate passed this window.")
    pass_streak: int = Field(ge=0, description="Consecutive windows passed, this one included.")
    required_streak: int = Field(
        2, ge=1, description="Consecutive passing windows needed to promote (≥ 1)."
    )
    state: PromotionState = Field(description="Where the candidate stands after this window.")
    candidate_return: float = Field(description="Candidate's mean per-agent return this window.")
    release_return: float = Field(description="Release's mean per-agent return this window.")
    kpi_deltas: dict[str, float] = Field(
        default_factory=dict,
        description="Relative KPI change of candidate vs release, by KPI name (−0.3 = 30% worse).",
    )
    reason: str = Field(description="One sentence saying why, for logs and the console.")

    @property
    def promote(self) -> bool:
        """Whether this decision promotes the candidate."""
        return self.state == "promoted"
