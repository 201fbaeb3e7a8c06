"""The epoch log: one flushed JSON line per epoch that the telemetry tools accept."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.training.helpers import record
from townlet.core.training import EPOCH_LOG, EpochLogger


def write_log(run_dir: Path, extra: Path | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    with EpochLogger(run_dir, extra_path=extra, **kwargs) as logger:
        return [
            logger.log(record(epoch=1, data_mode="replay", rollout_ticks=0)),
            logger.log(record(epoch=2, queue_conflict_events=3, queue_conflict_intensity_sum=1.5)),
            logger.log(record(epoch=3, anneal_ratio=0.8, anneal_stage="anneal")),
        ]


def test_one_line_per_epoch_in_both_files(tmp_path: Path) -> None:
    extra = tmp_path / "logs" / "ppo.jsonl"
    written = write_log(tmp_path / "run", extra)
    main = (tmp_path / "run" / EPOCH_LOG).read_text().splitlines()
    assert main == extra.read_text().splitlines()
    assert [json.loads(line) for line in main] == written
    assert all(obj["telemetry_version"] == "1.2" for obj in written)
    assert "anneal_ratio" in written[0] and written[0]["anneal_ratio"] is None


def test_each_line_is_flushed_before_the_next_epoch(tmp_path: Path) -> None:
    logger = EpochLogger(tmp_path)
    logger.log(record(epoch=1))
    assert len((tmp_path / EPOCH_LOG).read_text().splitlines()) == 1
    logger.close()
    logger.close()


def test_epochs_must_increase_and_a_closed_logger_refuses(tmp_path: Path) -> None:
    logger = EpochLogger(tmp_path)
    logger.log(record(epoch=2))
    with pytest.raises(ValueError, match="epoch 2 does not follow epoch 2"):
        logger.log(record(epoch=2))
    logger.close()
    with pytest.raises(ValueError, match="closed"):
        logger.log(record(epoch=3))
    assert len((tmp_path / EPOCH_LOG).read_text().splitlines()) == 1


def test_callback_gets_every_record_after_it_is_written(tmp_path: Path) -> None:
    seen: list[tuple[int, Mapping[str, Any]]] = []

    def forward(epoch: int, rec: Mapping[str, Any]) -> None:
        lines = (tmp_path / EPOCH_LOG).read_text().splitlines()
        assert json.loads(lines[-1]) == rec
        seen.append((epoch, rec))

    written = write_log(tmp_path, on_record=forward)
    assert seen == [(i + 1, r) for i, r in enumerate(written)]


def test_logs_pass_the_telemetry_validator_and_tools(tmp_path: Path) -> None:
    pytest.importorskip("townlet.telemetry")
    from townlet.core.telemetry.payloads import make_payload
    from townlet.telemetry.logs import read_log
    from townlet.telemetry.schema import payload_problems
    from townlet.telemetry.summary import summarize
    from townlet.telemetry.validate import validate_lines
    from townlet.telemetry.watch import Thresholds, watch_lines

    payloads: list[dict[str, Any]] = []
    write_log(
        tmp_path,
        on_record=lambda epoch, rec: payloads.append(
            dict(make_payload("training_epoch", epoch, {"record": dict(rec)}))
        ),
    )
    log = tmp_path / EPOCH_LOG
    report = validate_lines(read_log(log))
    assert report.ok, report.problems
    assert report.training_versions == {"1.2": 3}
    for payload in payloads:
        assert payload_problems(payload) == []
    summary = summarize(read_log(log), str(log))
    assert len(summary.rows) == 3 and not summary.problems
    assert summary.anneal is not None and summary.anneal["ratio"] == 0.8
    observations = list(watch_lines(read_log(log), Thresholds()))
    assert len(observations) == 3
    assert not any(o.breaches for o in observations)


def test_cli_validates_the_log(tmp_path: Path, cli: Any) -> None:
    pytest.importorskip("townlet.telemetry")
    write_log(tmp_path)
    result = cli("telemetry", "validate", str(tmp_path / EPOCH_LOG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


def test_a_resumed_run_continues_the_epochs(tmp_path: Path) -> None:
    write_log(tmp_path)
    with EpochLogger(tmp_path) as logger:
        with pytest.raises(ValueError, match="epoch 3 does not follow epoch 3"):
            logger.log(record(epoch=3))
        logger.log(record(epoch=4))
    epochs = [json.loads(x)["epoch"] for x in (tmp_path / EPOCH_LOG).read_text().splitlines()]
    assert epochs == [1, 2, 3, 4]
