"""Stability payloads: emitted by ``townlet run``, valid against their shipped JSON Schema,
and read by the telemetry log tools."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("townlet.telemetry.sinks.jsonl")

from townlet.core.cli import townlet
from townlet.telemetry.schema import jsonschema_problems, payload_problems

FOOD_X10 = ("--set", "world.economy.prices.meal=10", "--set", "world.economy.prices.raw_food=4")


def run_town(tmp_path: Path, *args: str) -> tuple[list[dict], str]:
    log = tmp_path / "town.jsonl"
    result = CliRunner().invoke(
        townlet,
        [
            "run",
            "--quiet",
            *("--sink", "jsonl", "--set", f"telemetry.sinks.0.params.path={log}"),
            *("--set", "telemetry.world_every=500"),
            *args,
        ],
    )
    assert result.exit_code == 0, result.output
    payloads = [json.loads(line) for line in log.read_text().splitlines()]
    return [p for p in payloads if p["payload_type"] == "stability"], result.stdout


def test_a_broken_run_streams_valid_stability_payloads(tmp_path: Path) -> None:
    windows, stdout = run_town(tmp_path, "--days", "4", *FOOD_X10)
    assert [w["window"] for w in windows] == [1, 2, 3, 4]
    assert [w["tick"] for w in windows] == [1000, 2000, 3000, 4000]
    for payload in windows:
        assert jsonschema_problems("stability", payload) == []
        assert payload_problems(payload) == []
    assert windows[0]["baseline"] is None and windows[1]["baseline"] == windows[0]["kpis"]
    fired = [c["name"] for w in windows for c in w["canaries"] if c["fired"]]
    assert "starvation" in fired
    assert "  stability         4 window(s), canaries fired: starvation in" in stdout

    summary = CliRunner().invoke(
        townlet, ["telemetry", "summary", str(tmp_path / "town.jsonl"), "--format", "json"]
    )
    doc = json.loads(summary.stdout)["stability"]
    assert doc["windows"] == 4 and doc["fired"]["starvation"] >= 1
    assert doc["first_fired"]["starvation"] in (2000, 3000, 4000)
    markdown = (
        CliRunner()
        .invoke(
            townlet, ["telemetry", "summary", str(tmp_path / "town.jsonl"), "--format", "markdown"]
        )
        .stdout
    )
    assert "- stability: 4 window(s); canaries fired: starvation in " in markdown
    validate = CliRunner().invoke(townlet, ["telemetry", "validate", str(tmp_path / "town.jsonl")])
    assert validate.exit_code == 0 and " stability" in validate.stdout
    # telemetry watch: a fired canary is a breach (exit 1) unless --no-canaries
    watch = CliRunner().invoke(townlet, ["telemetry", "watch", str(tmp_path / "town.jsonl")])
    assert watch.exit_code == 1, watch.output
    assert "stability window 4 at tick 4000: " in watch.stdout
    assert "BREACH starvation_canary=" in watch.stdout
    assert ", 4 stability window(s), 0 malformed line(s), " in watch.stdout
    quiet = ["telemetry", "watch", str(tmp_path / "town.jsonl"), "--no-canaries", "--json"]
    watch = CliRunner().invoke(townlet, quiet)
    assert watch.exit_code == 0, watch.output
    seen = [json.loads(line) for line in watch.stdout.splitlines()]
    assert [s["label"] for s in seen if s.get("kind") == "stability"][-1] == (
        "stability window 4 at tick 4000"
    )
    assert seen[-1]["summary"]["stability"] == 4 and seen[-1]["summary"]["breaches"] == 0


def test_the_default_town_summary_reports_quiet_windows(tmp_path: Path) -> None:
    windows, stdout = run_town(tmp_path, "--days", "2", "--json")
    assert len(windows) == 2 and not any(c["fired"] for w in windows for c in w["canaries"])
    summary = json.loads(stdout)["stability"]
    assert summary["windows"] == 2 and summary["fired"] == {}
    watch = CliRunner().invoke(townlet, ["telemetry", "watch", str(tmp_path / "town.jsonl")])
    assert watch.exit_code == 0 and "2 stability window(s)" in watch.stdout, watch.output
    assert summary["last"] == windows[-1]["kpis"] | {"throughput": summary["last"]["throughput"]}


@pytest.fixture(scope="module")
def one_window(tmp_path_factory: pytest.TempPathFactory) -> dict:
    windows, _ = run_town(tmp_path_factory.mktemp("one_day"), "--days", "1")
    return windows[0]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda p: p["kpis"].pop("lateness"), "kpis"),
        (lambda p: p["kpis"].update(lateness=1.5), "kpis.lateness"),
        (lambda p: p["canaries"][0].update(name="boredom"), "canaries.0.name"),
        (lambda p: p.update(window=0), "window"),
    ],
    ids=["missing-kpi", "share-above-one", "unknown-canary", "window-zero"],
)
def test_the_schema_refuses_broken_payloads(one_window: dict, change, where: str) -> None:
    payload = copy.deepcopy(one_window)
    assert payload_problems(payload) == []
    change(payload)
    assert any(where in p for p in jsonschema_problems("stability", payload))
    assert any(where in p for p in payload_problems(payload))
