"""Curricula: stages walked in windows, advanced by KPI bands or budgets, policy carried over.

Torch-free: the example strategy (``my_algo`` / ``my_linear``) trains a
one-citizen town for a few ticks per window.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from townlet.core.registry import Registry
from townlet.core.training.curriculum import (
    Curriculum,
    CurriculumError,
    CurriculumStage,
    KpiBand,
    check_stages,
    load_curriculum,
    load_stages,
    train_curriculum,
)
from townlet.core.training.records import TrainingRecordV1_2

TINY = (
    "training.strategy=my_algo",
    "world.agents=1",
    "training.params.population=2",
    "training.rollout_ticks=10",
)
DEFAULT_STAGES = (
    "m0_home",
    "m1_shop",
    "m2_job",
    "m2_5_conflict",
    "m3_relationships",
    "c1_chat",
    "c2_avoid",
    "m4_perturbations",
    "m5_full",
)


def tiny(*stages: CurriculumStage) -> Curriculum:
    """A curriculum of one-epoch windows evaluated on one short episode."""
    return Curriculum(name="tiny", window_epochs=1, eval_episodes=1, eval_ticks=10, stages=stages)


PERMISSIVE = CurriculumStage(name="first", config="builtin:default", budget=3)
IMPOSSIBLE = CurriculumStage(
    name="second",
    config="builtin:default",
    budget=1,
    bands={"self_sufficiency": KpiBand(min=2.0)},
)


def test_a_permissive_band_advances_and_the_stage_is_logged(
    with_examples: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    result = train_curriculum(
        tiny(PERMISSIVE, IMPOSSIBLE), overrides=TINY, registry=Registry(), output=run
    )
    first, second = result.stages
    assert (first.stage, first.outcome, len(first.windows)) == ("first", "passed", 2)
    assert (second.stage, second.outcome, len(second.windows)) == ("second", "budget", 1)
    assert result.completed and result.policy == "my_linear"
    assert second.windows[0].kpis["self_sufficiency"] <= 1.0 and not second.windows[0].passed
    # every epoch record names its stage, and each window starts from the one before
    for stage in (first, second):
        for window in stage.windows:
            lines = (window.run_dir / "epochs.jsonl").read_text().splitlines()
            records = [TrainingRecordV1_2.model_validate_json(line) for line in lines]
            assert records and {r.curriculum_stage for r in records} == {stage.stage}
    carried = yaml.safe_load((second.windows[0].run_dir / "config.yaml").read_text())
    assert carried["training"]["params"]["init_from"] == str(first.windows[-1].checkpoint)
    summary = json.loads((run / "result.json").read_text())
    assert [s["outcome"] for s in summary["stages"]] == ["passed", "budget"]
    assert (run / "curriculum.yaml").is_file()
    assert sorted(p.name for p in run.iterdir() if p.is_dir()) == ["01_first", "02_second"]


def test_the_cli_walks_a_curriculum_file(cli: Any, example_plugins: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(tiny(PERMISSIVE, IMPOSSIBLE).model_dump(mode="json")))
    sets = [arg for s in TINY for arg in ("--set", s)]
    out = tmp_path / "run"
    result = cli(
        *("train", "--curriculum", str(plan), *sets, "--output", str(out), "--epochs", "1"),
        extra_path=example_plugins,
    )
    assert result.returncode == 0, result.stderr
    assert "first window 2: pass" in result.stderr and "second window 1: miss" in result.stderr
    assert "first" in result.stdout and "passed" in result.stdout and "budget" in result.stdout


def test_an_unknown_curriculum_lists_the_installed(cli: Any) -> None:
    result = cli("train", "--curriculum", "nope")
    assert result.returncode == 2
    assert "unknown curriculum 'nope' (installed:" in result.stderr
    try:
        import townlet.scenarios  # noqa: F401
    except ImportError:
        return
    assert "default" in result.stderr.split("installed:")[1]


def test_stages_with_different_specs_are_refused(with_examples: Path) -> None:
    plan = tiny(
        PERMISSIVE,
        CurriculumStage(
            name="other", config="builtin:default", overrides=("observations.encoder=compact",)
        ),
    )
    registry = Registry()
    configs = load_stages(plan, TINY, registry)
    with pytest.raises(CurriculumError, match="stage 'other' has observation spec"):
        check_stages(plan, configs, registry)


def test_a_strategy_that_cannot_start_from_a_checkpoint_is_refused(
    make_dist: Any, tmp_path: Path
) -> None:
    from tests.training import counter_strategy

    counter_strategy.install(make_dist)
    plan = tiny(PERMISSIVE)
    with pytest.raises(CurriculumError, match="'counter' has no init_from parameter"):
        train_curriculum(
            plan, overrides=("training.strategy=counter",), registry=Registry(), output=tmp_path
        )


def test_bands_name_known_kpis_and_stage_names_are_unique() -> None:
    with pytest.raises(ValueError, match="unknown KPI"):
        CurriculumStage(name="s", config="builtin:default", bands={"happiness": KpiBand(min=1)})
    with pytest.raises(ValueError, match="repeated: first"):
        tiny(PERMISSIVE, PERMISSIVE)
    assert KpiBand(max=0.2).holds(0.1) and not KpiBand(min=0.5).holds(0.4)


def test_records_without_a_stage_still_read() -> None:
    line = (
        '{"telemetry_version":"1.2","epoch":1,"updates":0,"transitions":0,"loss_policy":0,'
        '"loss_value":0,"loss_entropy":0,"loss_total":0,"clip_fraction":0,"approx_kl":0,'
        '"explained_variance":0,"adv_mean":0,"adv_std":0,"grad_norm":0,"lr":0,'
        '"steps_per_sec":0,"queue_conflict_events":0,"queue_conflict_intensity_sum":0,'
        '"anneal_ratio":null,"anneal_stage":null}'
    )
    assert TrainingRecordV1_2.model_validate_json(line).curriculum_stage is None


def test_the_default_curriculum_walks_spec_stages_on_one_spec(with_examples: Path) -> None:
    pytest.importorskip("townlet.scenarios")
    plan = load_curriculum("default")
    assert tuple(s.name for s in plan.stages) == DEFAULT_STAGES
    assert all(s.config == f"scenario:{s.name}" and s.bands for s in plan.stages)
    registry = Registry()
    configs = load_stages(plan, ("training.strategy=my_algo",), registry)
    assert check_stages(plan, configs, registry) == "my_algo"
