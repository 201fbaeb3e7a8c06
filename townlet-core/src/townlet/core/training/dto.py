"""Result and record DTOs of training: frozen pydantic models, unknown keys refused.

:class:`EpochRecord` is one line of the training log, field for field the
telemetry format's version 1.2 record (``townlet.telemetry.training_log``),
so ``townlet telemetry validate/watch/summary`` read what strategies write.
Its numbers must be finite: JSON has no NaN, and a diverged loss is better
caught where it is produced than in a log reader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class EpochRecord(_Frozen):
    """One epoch of training statistics: a training-log record, version 1.2."""

    telemetry_version: Literal["1.2"] = Field(
        TELEMETRY_VERSION, description="Record format version."
    )
    epoch: int = Field(ge=1, description="1-based index of the training epoch (≥ 1).")
    updates: int = Field(
        ge=0, description="Optimiser steps (minibatch gradient updates) in this epoch (≥ 0)."
    )
    transitions: int = Field(
        ge=0, description="Agent-steps of experience consumed in this epoch (≥ 0)."
    )
    loss_policy: float = Field(
        description="Mean clipped-surrogate policy loss over the epoch's updates."
    )
    loss_value: float = Field(ge=0, description="Mean value-function loss (squared error, ≥ 0).")
    loss_entropy: float = Field(
        ge=0, description="Mean entropy of the option distribution in nats (≥ 0)."
    )
    loss_total: float = Field(
        description="Mean minimised loss: loss_policy + vf_coef·loss_value − ent_coef·loss_entropy."
    )
    clip_fraction: float = Field(
        ge=0, le=1, description="Share of samples whose probability ratio was clipped (0..1)."
    )
    approx_kl: float = Field(
        description="Mean approximate KL(old‖new), estimator (r − 1) − log r; ≈ 0 when stable."
    )
    explained_variance: float = Field(
        le=1,
        description="1 − Var(returns − values)/Var(returns) (≤ 1; ≤ 0 is no better than a mean).",
    )
    adv_mean: float = Field(description="Mean advantage before normalisation.")
    adv_std: float = Field(
        ge=0, description="Standard deviation of advantages before normalisation (≥ 0)."
    )
    grad_norm: float = Field(
        ge=0, description="Mean global L2 norm of the gradient before clipping (≥ 0)."
    )
    lr: float = Field(ge=0, description="Learning rate at the end of the epoch (≥ 0).")
    steps_per_sec: float = Field(
        ge=0, description="Transitions per wall-clock second over the epoch (≥ 0)."
    )
    data_mode: DataMode | None = Field(
        None, description="Where the epoch's data came from; omitted when not applicable."
    )
    epoch_seconds: float | None = Field(
        None, ge=0, description="Wall-clock duration of the epoch in seconds (≥ 0)."
    )
    queue_conflict_events: int = Field(
        0,
        ge=0,
        description="Queue conflicts (blocked, cut-in, rivals colliding) in the rollouts (≥ 0).",
    )
    queue_conflict_intensity_sum: float = Field(
        0.0, ge=0, description="Sum of the intensities of those conflicts (≥ 0)."
    )
    rollout_ticks: int | None = Field(
        None, ge=0, description="Simulation ticks rolled out this epoch (0 in replay mode)."
    )
    anneal_ratio: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of decisions left to the scripted policy (0..1); null unless annealing.",
    )
    anneal_stage: str | None = Field(
        None,
        description="Anneal stage name (e.g. 'bc', 'anneal', 'learned'); null unless annealing.",
    )
    anneal_rolled_back: bool | None = Field(
        None, description="True when the rollback guard froze the mix this epoch (KPIs fell > 30%)."
    )
    promotion_pass_streak: int | None = Field(
        None, ge=0, description="Consecutive evaluation windows the candidate has passed (≥ 0)."
    )
    promotion_state: PromotionState | None = Field(
        None, description="Where the candidate policy stands in promotion."
    )


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
