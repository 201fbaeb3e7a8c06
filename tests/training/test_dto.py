"""The training DTOs: frozen, strict, and the epoch record is the telemetry 1.2 record."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.training.helpers import record
from townlet.core.training import (
    EpochRecord,
    EvaluationReport,
    PromotionDecision,
    TrainingResult,
)
from townlet.core.training.records import TrainingRecordV1_2


def test_epoch_record_defaults_to_version_1_2() -> None:
    rec = record()
    assert rec.telemetry_version == "1.2"
    assert rec.queue_conflict_events == 0
    assert rec.anneal_ratio is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("clip_fraction", 1.5),
        ("loss_value", -1.0),
        ("epoch", 0),
        ("loss_total", math.nan),
        ("grad_norm", math.inf),
        ("anneal_ratio", 2.0),
        ("telemetry_version", "1.1"),
        ("unknown_field", 1),
    ],
)
def test_epoch_record_refuses_invalid_values(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=field):
        record(**{field: value})


def test_dtos_are_frozen() -> None:
    rec = record()
    with pytest.raises(ValidationError):
        rec.epoch = 2  # type: ignore[misc]


def test_epoch_record_is_a_version_1_2_record() -> None:
    model = TrainingRecordV1_2
    assert set(EpochRecord.model_fields) == set(model.model_fields)
    for name, field in EpochRecord.model_fields.items():
        assert field.description == model.model_fields[name].description, name
    # what strategies write, readers accept as 1.2: the anneal keys are written as null
    dumped = record().model_dump()
    assert dumped["anneal_ratio"] is None and dumped["anneal_stage"] is None
    model.model_validate(dumped)
    model.model_validate(record(anneal_ratio=0.5, anneal_stage="anneal").model_dump())


def test_training_result_round_trips_through_json(tmp_path: Path) -> None:
    result = TrainingResult(
        strategy="ppo",
        config_id="default",
        seed=3,
        run_dir=tmp_path,
        mode="rollout",
        epochs=2,
        transitions=512,
        seconds=1.5,
        final_metrics={"losses/value_loss": 0.4},
        last_epoch=record(epoch=2),
        checkpoints=(tmp_path / "ckpt_2.pt",),
        policy="ppo",
    )
    again = TrainingResult.model_validate_json(result.model_dump_json())
    assert again == result


def test_evaluation_report_checks_its_counts_and_interval() -> None:
    good: dict[str, Any] = {
        "policy": "random",
        "config_id": "default",
        "seeds": (1, 2),
        "episodes": 2,
        "ticks": 1000,
        "agents": 16,
        "mean_return": -50.0,
        "return_ci95": (-55.0, -45.0),
        "episode_returns": (-52.0, -48.0),
        "kpis": {"self_sufficiency": 0.2},
    }
    assert EvaluationReport(**good).mean_return == -50.0
    with pytest.raises(ValidationError, match="episodes=3"):
        EvaluationReport(**{**good, "episodes": 3})
    with pytest.raises(ValidationError, match="must contain mean_return"):
        EvaluationReport(**{**good, "return_ci95": (-49.0, -45.0)})


def test_promotion_decision() -> None:
    decision = PromotionDecision(
        candidate="ppo:run_3",
        release="scripted",
        window=2,
        passed=True,
        pass_streak=2,
        state="promoted",
        candidate_return=-12.0,
        release_return=-14.0,
        reason="passed two consecutive windows",
    )
    assert decision.promote
    assert decision.required_streak == 2


def test_the_training_package_never_imports_torch() -> None:
    code = (
        "import sys, townlet.core.training as t; "
        "t.ReplayDataset, t.batch_summary, t.EpochLogger; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
