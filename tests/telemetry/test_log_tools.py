"""``townlet telemetry validate|watch|summary|replay|schemas`` on recorded logs."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("townlet.telemetry")

from click.testing import CliRunner, Result

from tools.synthetic_town import SyntheticTown
from townlet.core.cli import townlet
from townlet.core.config.models import TelemetryConfig
from townlet.core.telemetry import TelemetryHub, apply_diff
from townlet.telemetry.sinks.jsonl import JsonlParams, JsonlSink

DATA = Path(__file__).parent / "data"
GUARD_S = 60.0
"""Longest wait for any one event (a hang guard, never a time window)."""
REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> Result:
    return CliRunner().invoke(townlet, ["telemetry", *map(str, args)], catch_exceptions=False)


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A recorded observer stream with every payload type; and its final world."""
    path = tmp_path_factory.mktemp("stream") / "run.jsonl"
    town = SyntheticTown(seed=12, churn=0.02)
    sink = JsonlSink(JsonlParams(path=str(path)))
    with TelemetryHub([("jsonl", sink)], TelemetryConfig(health_every=100)) as hub:
        for _ in range(250):
            world = town.step()
            hub.publish_world(town.tick, world)
            if town.tick % 100 == 0:
                hub.publish_metrics(town.tick, world["kpis"], scope="day")
        final = json.loads(json.dumps(hub.snapshot))
    return path, final


# -- validate ----------------------------------------------------------------------


def test_validate_a_clean_stream(stream) -> None:
    path, _ = stream
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    assert "255 lines" in result.output  # 250 worlds, 2 metrics, health at 101, 201 and stop
    assert "1 world_snapshot" in result.output and "249 world_diff" in result.output
    assert result.output.rstrip().endswith(": valid")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("training_v1_0.jsonl", [":3: invalid JSON: Expecting ':' delimiter (column 69)"]),
        ("training_v1_1.jsonl", [":4: expected a JSON object, got list"]),
        (
            "training_v1_2.jsonl",
            [
                ":3: training 1.2: loss_value: NaN/Infinity is not valid JSON",
                ":4: unknown telemetry_version '2.0' (known: 1.0, 1.1, 1.2)",
            ],
        ),
    ],
)
def test_validate_reports_bad_lines_by_number(name: str, expected: list[str]) -> None:
    result = run("validate", DATA / name)
    assert result.exit_code == 1
    for fragment in expected:
        assert f"{DATA / name}{fragment}" in result.output
    assert "Traceback" not in result.output


def test_validate_finds_gaps_and_broken_worlds(stream, tmp_path: Path) -> None:
    lines = stream[0].read_text().splitlines()
    del lines[10]  # a lost diff: the next one no longer applies
    broken = json.loads(lines[20])
    broken["changes"] = {"set": {"weather": "foggy"}}  # valid diff, invalid world
    lines[20] = json.dumps(broken)
    lines[30] = lines[30][:-5]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = run("validate", path).output
    assert f"{path}:11: world_diff does not apply: diff for tick 12 applies to tick 11" in out
    assert f"{path}:12: world_diff follows a gap; it cannot be applied" in out
    assert f"{path}:31: invalid JSON" in out
    # after the gap nothing applies until a snapshot: no cascade of rebuilt-world errors
    assert "rebuilt world is invalid" not in out


def test_validate_checks_rebuilt_worlds(stream, tmp_path: Path) -> None:
    lines = stream[0].read_text().splitlines()
    bad = json.loads(lines[5])
    bad["changes"].setdefault("set", {})["weather"] = "foggy"
    lines[5] = json.dumps(bad)
    path = tmp_path / "foggy.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = run("validate", path)
    assert f"{path}:6: rebuilt world is invalid: world_snapshot: weather:" in result.output
    assert run("validate", "--shallow", path).exit_code == 0


# -- watch -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "code", "breaches"),
    [
        ("training_v1_0.jsonl", [], 0, []),
        ("training_v1_1.jsonl", [], 1, ["line 3 epoch 3: ", "BREACH approx_kl=0.35 > 0.2"]),
        ("training_v1_1.jsonl", ["--kl-max", "0.5", "--queue-events-max", "4"], 1,
         ["queue_conflict_events=5 > 4"]),
        ("training_v1_2.jsonl", ["--kl-max", "1"], 1, ["BREACH loss_value=nan is not finite"]),
        ("training_v1_0.jsonl", ["--entropy-min", "1.58"], 1, ["loss_entropy=1.55 < 1.58"]),
    ],
)  # fmt: skip
def test_watch_thresholds(name: str, args: list[str], code: int, breaches: list[str]) -> None:
    result = run("watch", DATA / name, *args)
    assert result.exit_code == code, result.output
    for text in breaches:
        assert text in result.output
    assert "Traceback" not in result.output


def test_watch_reports_malformed_lines_and_goes_on() -> None:
    out = run("watch", DATA / "training_v1_0.jsonl").output.splitlines()
    assert out[2] == "line 3: malformed: invalid JSON: Expecting ':' delimiter (column 69)"
    assert out[-1] == "4 epoch(s), 0 health report(s), 1 malformed line(s), 0 with breaches"
    out = run("watch", DATA / "training_v1_2.jsonl").output
    assert "line 4: malformed: unknown telemetry_version '2.0'" in out


def test_watch_json_output(stream) -> None:
    result = run("watch", DATA / "training_v1_1.jsonl", "--json")
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows[2]["breaches"] == [
        {"field": "approx_kl", "value": 0.35, "bound": "max", "limit": 0.2}
    ]
    assert rows[3] == {"line": 4, "kind": "error", "error": "expected a JSON object, got list"}
    assert rows[-1] == {"summary": {"training": 4, "health": 0, "error": 1, "breaches": 1}}
    health = run("watch", stream[0], "--json", "--dropped-max", "0").output.splitlines()
    assert json.loads(health[0])["label"] == "health at tick 101"


def test_watch_fail_fast_stops_at_the_first_breach() -> None:
    result = run("watch", DATA / "training_v1_1.jsonl", "--fail-fast")
    assert result.exit_code == 1
    assert "line 5" not in result.output


def test_watch_follows_a_growing_log(tmp_path: Path, make_record) -> None:
    path = tmp_path / "live.jsonl"
    path.write_text(json.dumps(make_record("1.1", epoch=1)) + "\n")

    def write_more() -> None:
        with path.open("a") as fh:
            for epoch in (2, 3):
                time.sleep(0.1)
                line = json.dumps(make_record("1.1", epoch=epoch, approx_kl=0.05 * epoch))
                fh.write(line[:20])  # half a line first: not read until complete
                fh.flush()
                time.sleep(0.05)
                fh.write(line[20:] + "\n")
                fh.flush()

    writer = threading.Thread(target=write_more)
    writer.start()
    # it stops at the breach on line 3; the idle timeout only guards against a hang
    result = run(
        "watch", path, "--follow", "--fail-fast", "--idle-timeout", "60", "--poll", "0.02",
        "--kl-max", "0.12",
    )  # fmt: skip
    writer.join()
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == [
        "line 1 epoch 1",
        "line 2 epoch 2",
        "line 3 epoch 3",
    ]
    assert "BREACH approx_kl=0.15 > 0.12" in lines[2]
    assert result.exit_code == 1


def test_watch_follow_refuses_gzip(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(gzip.compress(b"{}\n"))
    result = run("watch", path, "--follow", "--idle-timeout", "0")
    assert result.exit_code == 2 and "cannot follow a gzip file" in result.output


# -- summary -----------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1_0", "1_1", "1_2"])
def test_summary_in_each_format(version: str) -> None:
    path = DATA / f"training_v{version}.jsonl"
    text = run("summary", path).output
    markdown = run("summary", path, "--format", "markdown").output
    doc = json.loads(run("summary", path, "--format", "json").output)
    assert doc["epochs"] == 4 and [r["epoch"] for r in doc["rows"]] == [1, 2, 3, 4]
    assert doc["versions"] == {version.replace("_", "."): 4}
    assert doc["trends"]["loss_total"]["direction"] == "down"
    assert markdown.startswith(f"# Training summary: `{path}`")
    assert "| epoch | loss |" in markdown and "## Trends" in markdown
    assert "trends (first -> last, min..max, mean):" in text
    if version == "1_0":
        assert doc["problems"] == [
            {"line": 3, "message": "invalid JSON: Expecting ':' delimiter (column 69)"}
        ]
        assert "## Problems" in markdown and "- line 3: invalid JSON" in markdown
    if version == "1_1":
        assert "q_events" in text and doc["anneal"] is None
    if version == "1_2":
        assert doc["anneal"] == {
            "ratio": 0.5,
            "stage": "anneal",
            "epoch": 4,
            "rolled_back_epochs": [3],
        }
        assert doc["promotion"] == {"state": "promoted", "pass_streak": 2, "epoch": 4}
        assert doc["rows"][2]["loss_value"] == "nan"
        assert "anneal: stage anneal, scripted share 0.50 (epoch 4)" in text
        assert "- promotion: promoted, 2 passing window(s) in a row (epoch 4)" in markdown


def test_summary_of_training_epochs_inside_an_observer_stream(tmp_path: Path, make_record) -> None:
    path = tmp_path / "mixed.jsonl"
    with TelemetryHub([("jsonl", JsonlSink(JsonlParams(path=str(path))))]) as hub:
        for epoch in (1, 2):
            hub.publish_training_epoch(make_record("1.2", epoch=epoch))
    doc = json.loads(run("summary", path, "--format", "json").output)
    assert doc["epochs"] == 2 and doc["dropped_messages"] == 0
    assert run("validate", path).exit_code == 0


# -- replay ------------------------------------------------------------------------


def test_replay_into_another_sink(stream, tmp_path: Path) -> None:
    path, final = stream
    out = tmp_path / "copy.jsonl"
    result = run("replay", path, "--sink", "jsonl", "--param", f"path={out}")
    assert result.exit_code == 0, result.output
    assert "jsonl: stopped" in result.output and "0 dropped" in result.output
    state: dict[str, Any] | None = None
    for line in out.read_text().splitlines():
        payload = json.loads(line)
        if payload["payload_type"] == "world_snapshot":
            state = payload
        elif payload["payload_type"] == "world_diff":
            state = apply_diff(state, payload)  # type: ignore[arg-type]
    assert state == final
    assert run("validate", out).exit_code == 0


def test_replay_reports_skipped_lines_and_bad_sinks(tmp_path: Path) -> None:
    out = tmp_path / "copy.jsonl"
    result = run(
        "replay", DATA / "training_v1_0.jsonl", "--sink", "jsonl", "--param", f"path={out}"
    )
    assert result.exit_code == 0
    assert "replayed 4 message(s)" in result.output
    assert len(out.read_text().splitlines()) == 4 + 1  # and the replaying hub's health
    unknown = CliRunner().invoke(townlet, ["telemetry", "replay", str(out), "--sink", "jsonll"])
    assert unknown.exit_code == 2 and "Did you mean 'jsonl'?" in unknown.output


def test_replay_paced_into_a_websocket_observer(stream, free_port) -> None:
    from websockets.sync.client import connect

    from townlet.telemetry.logs import read_log
    from townlet.telemetry.replay import replay_lines

    path, final = stream
    port = free_port()
    result: list[Any] = []
    connected, observed = threading.Event(), threading.Event()

    def sleep(seconds: float) -> None:
        connected.wait(GUARD_S)  # the stream waits for its observer
        observed.wait(seconds)  # paces; the linger ends once the observer has the last world

    thread = threading.Thread(
        target=lambda: result.append(
            replay_lines(
                read_log(path),
                "websocket",
                {"port": port},
                ticks_per_second=2000,
                linger_s=GUARD_S,
                sleep=sleep,
            )
        )
    )
    thread.start()
    deadline = time.monotonic() + GUARD_S
    while True:
        try:
            client = connect(f"ws://127.0.0.1:{port}", open_timeout=GUARD_S)
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.01)  # the replay is still starting its server
    connected.set()
    state: dict[str, Any] | None = None
    with client:
        while state is None or state["tick"] < final["tick"]:
            payload = json.loads(client.recv(timeout=GUARD_S))
            if payload["payload_type"] == "world_snapshot":
                state = payload
            elif payload["payload_type"] == "world_diff" and state is not None:
                state = apply_diff(state, payload)
    observed.set()
    thread.join(GUARD_S)
    assert state == final
    assert result[0].health.ok


# -- schemas -----------------------------------------------------------------------


def test_schemas_command(tmp_path: Path) -> None:
    assert run("schemas", "--check", REPO / "docs" / "telemetry" / "schemas").exit_code == 0
    copy = tmp_path / "schemas"
    shutil.copytree(REPO / "docs" / "telemetry" / "schemas", copy)
    (copy / "metric.schema.json").write_text("{}")
    (copy / "old.schema.json").write_text("{}")
    result = run("schemas", "--check", copy)
    assert result.exit_code == 1
    assert "metric.schema.json: differs from the models" in result.output
    assert "old.schema.json: not generated by any model" in result.output
    written = run("schemas", "--out", tmp_path / "fresh")
    assert written.output.count("wrote ") == 10
    assert run("schemas").output.count(".schema.json") == 10


def test_the_townlet_cli_finds_the_telemetry_group(cli) -> None:
    result = cli("telemetry", "--help")
    assert result.returncode == 0, result.stderr
    for command in ("validate", "watch", "summary", "replay", "schemas"):
        assert command in result.stdout


# -- damaged files -------------------------------------------------------------------


@pytest.fixture
def gzip_stream(stream, tmp_path: Path) -> bytes:
    """The recorded stream, gzipped."""
    import gzip

    path, _ = stream
    return gzip.compress(path.read_bytes())


@pytest.mark.parametrize("tool", ["validate", "watch", "summary"])
@pytest.mark.parametrize("damage", ["truncated", "bit flipped"])
def test_a_damaged_gzip_file_is_reported_with_the_line_reached(
    gzip_stream: bytes, tmp_path: Path, tool: str, damage: str
) -> None:
    data = bytearray(gzip_stream)
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) - 12] ^= 0x04  # inside the last deflate block: caught by the CRC
    path = tmp_path / "run.jsonl.gz"
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(townlet, ["telemetry", tool, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Aborted" not in result.output and "Traceback" not in result.output
    assert "damaged file, after line " in result.output
    if tool == "validate":
        assert result.exit_code == 1


@pytest.mark.parametrize("tool", ["validate", "watch", "summary"])
@pytest.mark.parametrize("depth", [100, 100_000])
def test_a_deeply_nested_line_is_reported(tmp_path: Path, tool: str, depth: int) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"payload_type": "metric", "x": ' + "[" * depth + "]" * depth + "}\n")
    result = CliRunner().invoke(townlet, ["telemetry", tool, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "line 1" in result.output or ":1:" in result.output
    assert "nested more than 64 levels deep" in result.output


def test_an_unterminated_string_reads_once(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_text('{"payload_type": "metric", "x": "abc\n')
    result = run("validate", path)
    assert "Unterminated string starting at (column 33)" in result.output
    assert "at at" not in result.output
