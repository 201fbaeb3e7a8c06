"""The orchestrator: strategy resolution, the run directory, result.json, stop and resume."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.training import counter_strategy
from tests.training.helpers import record
from townlet.core import ports
from townlet.core.config import TownletConfig, load_config, parse_override
from townlet.core.errors import TownletError, UnknownPluginError
from townlet.core.registry import Registry
from townlet.core.training.context import build_context
from townlet.core.training.dto import EpochRecord, TrainingResult
from townlet.core.training.epoch_log import EPOCH_LOG
from townlet.core.training.orchestrator import (
    CONFIG_FILE,
    RESULT_FILE,
    NoStrategyError,
    make_run_dir,
    train,
)


def config(*overrides: str) -> TownletConfig:
    sets = ("training.strategy=counter", "world.agents=1", *overrides)
    return load_config(overrides=[parse_override(o) for o in sets]).config


@pytest.fixture
def counter(make_dist: Any) -> Registry:
    counter_strategy.install(make_dist)
    return Registry()


def test_run_dir_is_named_and_numbered_and_holds_config_log_result(
    counter: Registry, tmp_path: Path
) -> None:
    first = train(config("seed=7"), registry=counter, runs_root=tmp_path)
    second = train(config("seed=7"), registry=counter, runs_root=tmp_path)
    assert isinstance(first, TrainingResult) and isinstance(second, TrainingResult)
    assert first.run_dir == tmp_path / "default__counter__7__1"
    assert second.run_dir == tmp_path / "default__counter__7__2"
    run = first.run_dir
    saved = yaml.safe_load((run / CONFIG_FILE).read_text())
    assert saved["seed"] == 7 and saved["training"]["strategy"] == "counter"
    assert TrainingResult.model_validate_json((run / RESULT_FILE).read_text()) == first
    lines = (run / EPOCH_LOG).read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]


def test_run_numbers_skip_past_the_highest_taken(tmp_path: Path) -> None:
    (tmp_path / "c__ppo__0__4").mkdir(parents=True)
    (tmp_path / "c__ppo__0__x").mkdir()
    assert make_run_dir(tmp_path, "c", "ppo", 0).name == "c__ppo__0__5"
    assert make_run_dir(tmp_path, "a/b c", "dist:ppo", 1).name == "a-b-c__ppo__1__1"


def test_output_is_used_exactly(counter: Registry, tmp_path: Path) -> None:
    out = tmp_path / "exactly" / "here"
    result = train(config(), registry=counter, runs_root=tmp_path / "runs", output=out)
    assert result.run_dir == out  # type: ignore[attr-defined]
    assert (out / RESULT_FILE).is_file() and (out / CONFIG_FILE).is_file()
    assert not (tmp_path / "runs").exists()
    with pytest.raises(TownletError, match="holds a run already: --resume it"):
        train(config(), registry=counter, output=out)


def test_ppo_log_gets_the_same_lines(counter: Registry, tmp_path: Path) -> None:
    extra = tmp_path / "ppo.jsonl"
    result = train(config(f"training.ppo_log={extra}"), registry=counter, runs_root=tmp_path)
    run_log = result.run_dir / EPOCH_LOG  # type: ignore[attr-defined]
    assert extra.read_text() == run_log.read_text() != ""


def test_unknown_strategy_lists_the_installed_ones(counter: Registry, tmp_path: Path) -> None:
    with pytest.raises(UnknownPluginError, match=r"Installed training strategies: .*counter"):
        train(config("training.strategy=countr"), registry=counter, runs_root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_no_strategy_installed_names_townlet_strategies(tmp_path: Path) -> None:
    with pytest.raises(
        NoStrategyError, match=r"No training strategy is available.*townlet-strategies"
    ):
        train(config(), registry=Registry(entry_points=[]), runs_root=tmp_path)


def test_no_strategy_chosen_and_no_ppo_lists_the_installed(
    counter: Registry, tmp_path: Path
) -> None:
    if any(i.name == "ppo" for i in counter.infos("training_strategies")):
        pytest.skip("ppo is installed: it is the default")
    with pytest.raises(TownletError, match=r"--strategy NAME \(installed: .*counter"):
        train(config("training.strategy=null"), registry=counter, runs_root=tmp_path)


def test_stop_flag_ends_after_the_epoch_and_the_result_is_written(
    counter: Registry, tmp_path: Path
) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def progress(epoch: int, metrics: Any) -> None:
        seen.append(epoch)
        if epoch == 2:
            stop.set()  # what the CLI's Ctrl-C handler does

    cfg = config("training.epochs=10")
    result = train(cfg, registry=counter, runs_root=tmp_path, on_progress=progress, stop=stop)
    assert isinstance(result, TrainingResult)
    assert seen == [1, 2] and result.epochs == 2 and result.stopped_early
    assert json.loads((result.run_dir / RESULT_FILE).read_text())["stopped_early"] is True


def test_resume_passes_the_run_dir_and_appends_to_its_log(
    counter: Registry, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    first = train(config(), registry=counter, runs_root=runs)
    run = first.run_dir  # type: ignore[attr-defined]
    again = train(config(), registry=counter, runs_root=runs, resume_from=run)
    assert isinstance(again, TrainingResult)
    assert again.run_dir == run and again.final_metrics["resumed"] == 1.0
    epochs = [json.loads(line)["epoch"] for line in (run / EPOCH_LOG).read_text().splitlines()]
    assert epochs == [1, 2, 3, 4, 5, 6]
    assert [p.name for p in runs.iterdir()] == [run.name]


def test_context_implements_the_port_and_makes_envs(tmp_path: Path) -> None:
    ctx = build_context(config(), tmp_path / "run")
    ctx.log_epoch(record(epoch=1))
    assert (ctx.output_dir / EPOCH_LOG).is_file() and ctx.epochs_logged == 1
    assert isinstance(ctx, ports.TrainingContext)
    assert ctx.output_dir.is_dir() and ctx.settings is ctx.config.training
    assert ctx.option_names[0] == "wait" and ctx.spec.names == ("map", "scalars", "social")
    env = ctx.make_env(2)
    obs, _ = env.reset(ctx.seed)
    assert obs["scalars"].shape == (2, ctx.spec["scalars"].shape[0])
    assert not ctx.should_stop()
    ctx.request_stop()
    assert ctx.should_stop()
    with pytest.raises(TownletError, match="no replay data configured"):
        ctx.services.replay.load()
    assert ctx.services.promotion(tmp_path / "promotion.jsonl").status().release is None
    ctx.close()


def test_training_epochs_reach_a_real_jsonl_sink(counter: Registry, tmp_path: Path) -> None:
    pytest.importorskip("townlet.telemetry.sinks.jsonl")
    from townlet.telemetry.logs import read_log
    from townlet.telemetry.summary import summarize
    from townlet.telemetry.validate import validate_lines

    stream = tmp_path / "telemetry.jsonl"
    sinks = f'telemetry.sinks=[{{name: jsonl, params: {{path: "{stream}"}}}}]'
    result = train(config(sinks), registry=counter, runs_root=tmp_path / "runs")
    assert isinstance(result, TrainingResult)
    events = [json.loads(line) for line in stream.read_text().splitlines()]
    epochs = [e for e in events if e["payload_type"] == "training_epoch"]
    assert [e["record"]["epoch"] for e in epochs] == [1, 2, 3]
    assert EpochRecord.model_validate(epochs[-1]["record"]) == result.last_epoch
    for log in (result.run_dir / EPOCH_LOG, stream):
        report = validate_lines(read_log(log))
        assert report.ok, (log, report.problems)
    summary = summarize(read_log(result.run_dir / EPOCH_LOG), "epochs.jsonl")
    assert len(summary.rows) == 3 and not summary.problems
