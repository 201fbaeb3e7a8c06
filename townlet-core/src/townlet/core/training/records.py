"""Training-log records: one JSON object per line per epoch, versions 1.0, 1.1 and 1.2.

A training strategy writes one record per epoch (the run's ``epochs.jsonl``,
its ``--ppo-log`` file, or a ``training_epoch`` telemetry payload, which wraps
the same record under ``record``). Every record names its
``telemetry_version``; readers accept all three. Each version is a strict
superset of the one before:

- **1.0**: optimisation statistics of the epoch;
- **1.1**: + per-epoch rollout metrics (queue conflicts, rollout ticks);
- **1.2**: + the scripted→learned anneal state, promotion progress, the
  curriculum stage and Ray worker restarts (each optional, so older 1.2 logs
  still read).

Unknown keys are errors (a typo is caught, not ignored). Losses follow the
PPO paper's names: ``loss_total = loss_policy + vf_coef·loss_value −
ent_coef·loss_entropy``. :class:`~townlet.core.training.dto.EpochRecord` is
what strategies write: the 1.2 record with defaults for the optional parts.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "TRAINING_VERSIONS",
    "AnnealRatio",
    "AnnealStage",
    "TrainingRecord",
    "TrainingRecordV1_0",
    "TrainingRecordV1_1",
    "TrainingRecordV1_2",
    "model_for_version",
]

TRAINING_VERSIONS: Final = ("1.0", "1.1", "1.2")
"""Every ``telemetry_version`` readers accept, oldest first."""


AnnealRatio = Annotated[
    float | None,
    Field(
        ge=0,
        le=1,
        description="Share of decisions left to the scripted policy (0..1); null unless annealing.",
    ),
]
AnnealStage = Annotated[
    str | None,
    Field(description="Anneal stage name (e.g. 'bc', 'anneal', 'learned'); null unless annealing."),
]


class TrainingRecordV1_0(BaseModel):
    """Training log record, version 1.0: the optimisation statistics of one epoch."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="TrainingRecord 1.0")

    telemetry_version: Literal["1.0"] = Field(description="Record format version.")
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
    data_mode: Literal["replay", "rollout", "mixed"] | None = Field(
        None, description="Where the epoch's data came from; omitted when not applicable."
    )
    epoch_seconds: float | None = Field(
        None, ge=0, description="Wall-clock duration of the epoch in seconds (≥ 0)."
    )


class TrainingRecordV1_1(TrainingRecordV1_0):
    """Training log record, version 1.1: 1.0 plus per-epoch rollout metrics."""

    model_config = ConfigDict(title="TrainingRecord 1.1")

    telemetry_version: Literal["1.1"] = Field(description="Record format version.")  # type: ignore[assignment]
    queue_conflict_events: int = Field(
        ge=0,
        description="Queue conflicts (blocked, cut-in, rivals colliding) in the rollouts (≥ 0).",
    )
    queue_conflict_intensity_sum: float = Field(
        ge=0, description="Sum of the intensities of those conflicts (≥ 0)."
    )
    rollout_ticks: int | None = Field(
        None, ge=0, description="Simulation ticks rolled out this epoch (0 in replay mode)."
    )


class TrainingRecordV1_2(TrainingRecordV1_1):
    """Training log record, version 1.2: 1.1 plus anneal state and promotion progress."""

    model_config = ConfigDict(title="TrainingRecord 1.2")

    telemetry_version: Literal["1.2"] = Field(description="Record format version.")  # type: ignore[assignment]
    anneal_ratio: AnnealRatio
    anneal_stage: AnnealStage
    anneal_rolled_back: bool | None = Field(
        None, description="True when the rollback guard froze the mix this epoch (KPIs fell > 30%)."
    )
    promotion_pass_streak: int | None = Field(
        None, ge=0, description="Consecutive evaluation windows the candidate has passed (≥ 0)."
    )
    promotion_state: Literal["candidate", "promoted", "rolled_back"] | None = Field(
        None, description="Where the candidate policy stands in promotion."
    )
    curriculum_stage: str | None = Field(
        None, description="Curriculum stage the epoch trained on; omitted outside a curriculum."
    )
    episodic_return: float | None = Field(
        None,
        description="Mean undiscounted return of the agent-episodes that ended this epoch; "
        "null when none ended.",
    )
    worker_restarts: int = Field(
        0,
        ge=0,
        description="Rollout workers replaced this epoch (Ray backend); each one's share of the "
        "batch was collected again, so the epoch trained on the planned batch (≥ 0).",
    )


TrainingRecord = Annotated[
    TrainingRecordV1_0 | TrainingRecordV1_1 | TrainingRecordV1_2,
    Field(discriminator="telemetry_version"),
]
"""Any training record, told apart by ``telemetry_version``."""

_MODELS: Final[dict[str, type[TrainingRecordV1_0]]] = {
    "1.0": TrainingRecordV1_0,
    "1.1": TrainingRecordV1_1,
    "1.2": TrainingRecordV1_2,
}


def model_for_version(version: Any) -> type[TrainingRecordV1_0]:
    """The model of a ``telemetry_version``; ``ValueError`` naming the known ones otherwise."""
    model = _MODELS.get(version) if isinstance(version, str) else None
    if model is None:
        known = ", ".join(TRAINING_VERSIONS)
        raise ValueError(f"unknown telemetry_version {version!r} (known: {known})")
    return model
