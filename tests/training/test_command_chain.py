"""The command chain of docs/training.md, run line by line exactly as documented:
capture a rollout, train PPO in mixed mode with --ppo-log, validate, watch and
summarise the log, then a first promotion window."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("townlet.strategies.ppo")
pytest.importorskip("townlet.telemetry.cli")
pytest.importorskip("townlet.scenarios")

from townlet.core.cli import townlet

pytestmark = pytest.mark.torch

DOC = Path(__file__).resolve().parents[2] / "docs" / "training.md"
SECTION = "## The command chain"


def documented_commands() -> list[str]:
    """The lines of the first bash block under the command-chain heading."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, f"{DOC}: no bash block under {SECTION!r}"
    return [line for line in match.group(1).splitlines() if line.strip()]


def run_line(line: str) -> str:
    """Run one ``townlet ...`` line in-process; ``> FILE`` gets its stdout."""
    words = shlex.split(line)
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    assert words[0] == "townlet", line
    result = CliRunner().invoke(townlet, words[1:], catch_exceptions=False)
    assert result.exit_code == 0, f"{line}\n{result.output}"
    if target is not None:
        Path(target).write_text(result.stdout, encoding="utf-8")
    return result.stdout


def test_the_documented_command_chain_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = documented_commands()
    assert [shlex.split(line)[1] for line in lines] == [
        "capture-rollout",
        "train",
        "telemetry",
        "telemetry",
        "telemetry",
        "promote",
    ]
    outputs = [run_line(line) for line in lines]

    chain = tmp_path / "chain"
    assert (chain / "capture" / "manifest.json").is_file()
    records = [json.loads(x) for x in (chain / "ppo_mixed.jsonl").read_text().splitlines()]
    assert len(records) == 1 and records[0]["data_mode"] == "mixed"
    assert records[0]["telemetry_version"] == "1.2" and records[0]["rollout_ticks"] == 40
    assert records[0]["queue_conflict_events"] >= 0
    assert (chain / "run" / "epochs.jsonl").read_text() == (chain / "ppo_mixed.jsonl").read_text()

    assert "training records 1×1.2: valid" in outputs[2]
    watched = [json.loads(x) for x in (chain / "watch.jsonl").read_text().splitlines()]
    assert watched[0]["label"] == "epoch 1" and watched[-1]["summary"]["training"] == 1
    summary = (chain / "summary.md").read_text()
    assert summary.startswith("# Training summary: `chain/ppo_mixed.jsonl`")
    assert "q_events" in summary and "## Trends" in summary

    history = [json.loads(x) for x in (chain / "promotion.jsonl").read_text().splitlines()]
    assert [h["event"] for h in history[:2]] == ["pin", "window"]
    assert history[1]["candidate"] == str((chain / "run").resolve())
    assert re.search(r"window 1: .* vs random: (PASS|FAIL)", outputs[5])
