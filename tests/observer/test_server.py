"""The observer's server side without a browser: page assets, loopback default, controls,
pacing, seeking in a recorded stream."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from websockets.sync.client import connect

from tests.conftest import run_cli
from tools.synthetic_town import SyntheticTown
from townlet.core.config.models import TelemetryConfig
from townlet.core.telemetry import TelemetryHub, apply_diff
from townlet.telemetry.logs import read_log
from townlet.telemetry.observer.assets import read_asset
from townlet.telemetry.observer.controls import ObserverControls
from townlet.telemetry.observer.pacing import Pacer, parse_speed
from townlet.telemetry.observer.replay import KEYFRAME_EVERY, RecordedStream
from townlet.telemetry.sinks.websocket import WebsocketParams, WebsocketSink


@pytest.fixture
def served() -> Iterator[tuple[TelemetryHub, WebsocketSink]]:
    sink = WebsocketSink(WebsocketParams(port=0))
    hub = TelemetryHub([("websocket", sink)], TelemetryConfig(health_every=0))
    hub.start()
    yield hub, sink
    hub.stop()


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read(), r.headers["Content-Type"]
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers["Content-Type"]


def test_the_page_and_its_modules_are_served(served: Any) -> None:
    _, sink = served
    status, body, kind = _get(sink.url)
    assert status == 200 and kind.startswith("text/html") and b"/static/js/main.js" in body
    for name in ("main.js", "stream.js", "render.js", "panels.js", "console.js"):
        status, body, kind = _get(f"{sink.url}static/js/{name}")
        assert status == 200 and kind.startswith("text/javascript") and body
    assert _get(f"{sink.url}town.json")[0] == 404  # no run bound: no map
    assert _get(f"{sink.url}static/../assets.py")[0] == 404


@pytest.mark.parametrize("name", ["../assets.py", "/etc/passwd", ".hidden", "js/../../live.py", ""])
def test_assets_never_leave_the_static_folder(name: str) -> None:
    assert read_asset(name) is None


def test_other_sites_and_rebound_names_are_refused(served: Any) -> None:
    """A web page elsewhere cannot open the stream (and pause the town); a DNS
    rebinding name pointing at 127.0.0.1 gets nothing at all."""
    from websockets.exceptions import InvalidStatus

    _, sink = served
    ws_url = sink.url.replace("http", "ws")
    host = sink.url.split("/")[2]
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, origin="http://evil.example", open_timeout=30)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    with connect(ws_url, origin=f"http://{host}", open_timeout=30) as ws:  # type: ignore[arg-type]
        ws.send(json.dumps({"type": "snapshot"}))  # the page's own origin is served
    with connect(ws_url, open_timeout=30) as ws:  # tools send no Origin: served
        ws.send(json.dumps({"type": "snapshot"}))
    request = urllib.request.Request(sink.url, headers={"Host": f"rebound.example:{host}"})
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(request, timeout=30)
    http.value.close()
    assert http.value.code == 403
    assert sink.health().detail["requests_refused"] == 2


def test_console_requests_waiting_per_page_are_bounded(served: Any) -> None:
    from townlet.telemetry.sinks.websocket import CONSOLE_IN_FLIGHT

    _, sink = served
    release = threading.Event()

    def console(raw: Any) -> dict[str, Any]:  # a town that does not tick until released
        release.wait(60)
        return {"cmd_id": raw["cmd_id"], "ok": True, "code": "ok", "message": "", "data": {}}

    sink.bind_observer(ObserverControls(mode="live", console=console))
    extra = 3
    with connect(sink.url.replace("http", "ws")) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        for i in range(CONSOLE_IN_FLIGHT + extra):
            ws.send(json.dumps({"type": "console", "cmd_id": f"c{i}", "token": "t"}))
        busy = [json.loads(ws.recv(timeout=30)) for _ in range(extra)]
        assert {m["code"] for m in busy} == {"busy"}
        assert sorted(m["cmd_id"] for m in busy) == sorted(
            f"c{i}" for i in range(CONSOLE_IN_FLIGHT, CONSOLE_IN_FLIGHT + extra)
        )
        release.set()
        done = [json.loads(ws.recv(timeout=30)) for _ in range(CONSOLE_IN_FLIGHT)]
        assert {m["code"] for m in done} == {"ok"}
        ws.send(json.dumps({"type": "console", "cmd_id": "after", "token": "t"}))
        assert json.loads(ws.recv(timeout=30))["code"] == "ok"  # slots are freed


def test_a_stopping_run_tells_pages_it_ended() -> None:
    sink = WebsocketSink(WebsocketParams(port=0))
    sink.bind_observer(ObserverControls(mode="live"))
    sink.start()
    try:
        with connect(sink.url.replace("http", "ws")) as ws:
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"
            sink.stop()
            end = json.loads(ws.recv(timeout=30))
    finally:
        sink.stop()
    assert end == {"type": "end", "message": "the run has ended"}


def test_loopback_by_default_and_remote_only_when_asked() -> None:
    assert WebsocketParams().host == "127.0.0.1"
    for host in ("127.0.0.1", "::1", "localhost"):
        WebsocketParams(host=host)
    with pytest.raises(ValidationError, match="allow_remote"):
        WebsocketParams(host="0.0.0.0")
    assert WebsocketParams(host="0.0.0.0", allow_remote=True).allow_remote


def test_remote_binding_is_announced(capsys: pytest.CaptureFixture[str]) -> None:
    sink = WebsocketSink(WebsocketParams(host="0.0.0.0", port=0, allow_remote=True))
    sink.start()
    try:
        assert "beyond this machine" in capsys.readouterr().err
    finally:
        sink.stop()


def test_controls_relay_speed_console_and_seek(served: Any) -> None:
    hub, sink = served
    pacer = Pacer("1")
    asked: list[dict[str, Any]] = []
    sought: list[int] = []

    def console(raw: Any) -> dict[str, Any]:
        asked.append(dict(raw))
        return {
            "cmd_id": raw["cmd_id"],
            "ok": False,
            "code": "forbidden",
            "message": "",
            "data": {},
        }

    from townlet.telemetry.observer.controls import ReplayRange

    sink.bind_observer(
        ObserverControls(
            mode="replay", pacer=pacer, console=console, replay=ReplayRange(0, 9, sought.append)
        )
    )
    town = SyntheticTown(seed=3)
    hub.publish_world(1, town.step())
    hub.flush()
    with connect(sink.url.replace("http", "ws")) as ws:
        hello = json.loads(ws.recv(timeout=30))
        assert hello["type"] == "hello" and hello["replay"] == {"first_tick": 0, "last_tick": 9}
        assert json.loads(ws.recv(timeout=30))["payload_type"] == "world_snapshot"
        ws.send(json.dumps({"type": "speed", "speed": "10x"}))
        ws.send(json.dumps({"type": "console", "cmd_id": "c1", "token": "t", "command": "kill"}))
        ws.send(json.dumps({"type": "seek", "tick": 4}))
        ws.send(json.dumps({"type": "seek", "tick": "4"}))
        got = [json.loads(ws.recv(timeout=30)) for _ in range(3)]
    assert {"type": "speed", "speed": "10"} in got
    assert any(m["type"] == "console_result" and m["code"] == "forbidden" for m in got)
    assert any(m["type"] == "error" and "integer tick" in m["message"] for m in got)
    assert pacer.speed == "10" and sought == [4]
    assert asked == [{"cmd_id": "c1", "token": "t", "command": "kill"}]


def test_speeds_parse_and_pause_holds_until_released() -> None:
    assert [parse_speed(v) for v in ("pause", 1, "10x", "100×", "MAX")] == [
        "pause", "1", "10", "100", "max",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not one of"):
        parse_speed("3")
    now = [0.0]
    pacer = Pacer("pause", clock=lambda: now[0], poll_s=0.001)
    idles = threading.Event()
    released = threading.Event()

    def tick_loop() -> None:
        pacer.wait(idle=idles.set)
        released.set()

    thread = threading.Thread(target=tick_loop)
    thread.start()
    assert idles.wait(30)  # paused: the loop idles (serving the console) instead of ticking
    assert not released.is_set()
    pacer.set_speed("max")
    assert released.wait(30)
    thread.join()


def test_paced_ticks_keep_to_250_ms_at_1x_on_a_fake_clock() -> None:
    now = [0.0]
    pacer = Pacer("1", clock=lambda: now[0], poll_s=0.001)
    waits: list[float] = []

    def idle() -> None:  # each poll advances the fake clock by what the pacer would sleep
        waits.append(now[0])
        now[0] += 0.01

    for _ in range(4):
        pacer.wait(idle=idle)
    assert now[0] == pytest.approx(1.0, abs=0.02)  # each tick 250 ms after the one before
    pacer.set_speed("100")
    start = now[0]
    pacer.wait(idle=idle)
    assert now[0] - start == pytest.approx(0.0025, abs=0.011)


def _record(tmp_path: Path, ticks: int) -> Path:
    from townlet.telemetry.sinks.jsonl import JsonlParams, JsonlSink

    town = SyntheticTown(seed=5, churn=0.05)
    log = tmp_path / "rec.jsonl"
    sink = JsonlSink(JsonlParams(path=str(log)))
    with TelemetryHub([("jsonl", sink)], TelemetryConfig(health_every=0)) as hub:
        for _ in range(ticks):
            hub.publish_world(town.tick + 1, town.step())
    return log


def test_seeking_rebuilds_the_recorded_world(tmp_path: Path) -> None:
    log = _record(tmp_path, KEYFRAME_EVERY * 2 + 37)
    recorded = RecordedStream.read(read_log(log))
    assert len(recorded.keyframes) >= 3
    states: dict[int, dict[str, Any]] = {}
    state: dict[str, Any] | None = None
    for line in read_log(log):
        msg = line.obj
        assert msg is not None
        if msg["payload_type"] == "world_snapshot":
            state = msg
        elif msg["payload_type"] == "world_diff":
            assert state is not None
            state = apply_diff(state, msg)
        else:
            continue
        states[state["tick"]] = state
    for tick in (recorded.first_tick, 5, KEYFRAME_EVERY, KEYFRAME_EVERY + 1, recorded.last_tick):
        _, whole = recorded.world_at(tick)
        assert whole == states[tick]
    assert recorded.world_at(-5)[1] == states[recorded.first_tick]


def test_replay_observe_refuses_a_log_without_a_world(tmp_path: Path) -> None:
    log = tmp_path / "epochs.jsonl"
    log.write_text('{"payload_type": "metric", "schema_version": "1.0", "tick": 1}\n')
    result = run_cli("telemetry", "replay", str(log), "--observe", "--port", "0")
    assert result.returncode == 1 and "no world stream" in result.stderr


def test_port_needs_observe() -> None:
    result = run_cli("run", "--ticks", "1", "--port", "0")
    assert result.returncode == 2 and "--port needs --observe" in result.stderr


def test_observe_on_a_busy_port_stops_with_one_message() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("run", "--observe", "--port", str(port), "--ticks", "5")
    assert result.returncode == 2
    assert f"the observer cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_replay_needs_a_sink_or_observe(tmp_path: Path) -> None:
    log = _record(tmp_path, 3)
    result = run_cli("telemetry", "replay", str(log))
    assert result.returncode == 2 and "--sink NAME (or --observe)" in result.stderr
    result = run_cli("telemetry", "replay", str(log), "--observe", "--sink", "jsonl")
    assert result.returncode == 2 and "leave out --sink" in result.stderr


def test_console_under_privacy_speaks_hashed_ids(observe: Any) -> None:
    """With telemetry.privacy the page knows agents only by hashed ids: console commands
    take those, and answers carry hashes, never a real id or name."""
    from tests.observer.helpers import ADMIN

    run = observe("--set", "telemetry.privacy=true")

    def answer(ws: Any, cmd_id: str, command: str, **args: Any) -> dict[str, Any]:
        ws.send(json.dumps({"type": "console", "cmd_id": cmd_id, "token": ADMIN,
                            "command": command, "args": args}))  # fmt: skip
        while True:
            msg = json.loads(ws.recv(timeout=30))
            if msg.get("type") == "console_result" and msg["cmd_id"] == cmd_id:
                return msg

    with connect(run.url.replace("http", "ws")) as ws:
        assert json.loads(ws.recv(timeout=30))["privacy"] is True
        world = json.loads(ws.recv(timeout=30))
        hashed = sorted(world["agents"])[0]
        assert hashed.startswith("agent-")
        shown = answer(ws, "a", "agent", agent=hashed)
        status = answer(ws, "s", "status")
        blackout = answer(ws, "b", "blackout", state="on")
    assert shown["ok"], shown
    assert shown["data"]["name"] == world["agents"][hashed]["name"]  # the hash, as streamed
    assert status["ok"] and hashed in status["data"]["agents"]
    assert blackout["ok"] and blackout["data"]["power"] is False
    text = json.dumps([shown, status])
    assert "agent_0" not in text, text  # no real id anywhere in the answers
