"""Switching jsonl → tcp → websocket is a change to the YAML config and nothing else."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("townlet.telemetry")

from click.testing import CliRunner
from websockets.sync.client import connect

from tools.synthetic_town import SyntheticTown
from townlet.core.cli import townlet
from townlet.core.config import load_config
from townlet.core.telemetry import TelemetryHub, apply_diff

CONFIG = """\
extends: builtin:default
config_id: switch-test
telemetry:
  health_every: 50
  sinks:
    - name: {name}
      params: {params}
"""
GUARD_S = 60.0
"""Longest wait for any one event (a hang guard, never a time window)."""


def _rebuild(lines: list[bytes | str]) -> dict[str, Any]:
    state: dict[str, Any] | None = None
    for line in lines:
        payload = json.loads(line)
        if payload["payload_type"] == "world_snapshot":
            state = payload
        elif payload["payload_type"] == "world_diff":
            assert state is not None
            state = apply_diff(state, payload)
    assert state is not None
    return state


def _run_town(config_path: Path, during: Callable[[TelemetryHub], None] | None = None) -> Any:
    """What a run does with its config: build the hub from YAML, publish a town, stop."""
    hub = TelemetryHub.from_config(load_config(config_path).config.telemetry)
    town = SyntheticTown(seed=30, churn=0.02)
    with hub:
        if during is not None:
            during(hub)
        for _ in range(120):
            world = town.step()
            hub.publish_world(town.tick, world)
    return hub.stop()


def test_same_config_three_transports(tmp_path: Path, free_port) -> None:
    config = tmp_path / "run.yaml"
    finals: dict[str, dict[str, Any]] = {}

    # 1. jsonl
    config.write_text(CONFIG.format(name="jsonl", params="{path: out/run.jsonl}"))
    assert CliRunner().invoke(townlet, ["validate", str(config)]).exit_code == 0
    health = _run_town(config)
    finals["jsonl"] = _rebuild((Path.cwd() / "out" / "run.jsonl").read_bytes().splitlines())
    assert health.ok

    # 2. tcp: a receiver on loopback
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def receive() -> None:
        conn, _ = server.accept()
        with conn:
            buf = b""
            while data := conn.recv(65536):
                buf += data
        received.extend(buf.splitlines())

    receiver = threading.Thread(target=receive)
    receiver.start()
    config.write_text(CONFIG.format(name="tcp", params=f"{{port: {server.getsockname()[1]}}}"))
    assert CliRunner().invoke(townlet, ["validate", str(config)]).exit_code == 0
    health = _run_town(config)
    receiver.join(GUARD_S)
    server.close()
    finals["tcp"] = _rebuild(received)
    assert health.ok

    # 3. websocket: an observer connected from the start
    port = free_port()
    config.write_text(CONFIG.format(name="websocket", params=f"{{port: {port}}}"))
    assert CliRunner().invoke(townlet, ["validate", str(config)]).exit_code == 0
    messages: list[str] = []
    readers: list[threading.Thread] = []

    def observe(hub: TelemetryHub) -> None:
        client = connect(f"ws://127.0.0.1:{port}", open_timeout=GUARD_S)

        def read() -> None:
            with client:
                try:
                    while True:
                        messages.append(str(client.recv(timeout=GUARD_S)))
                except Exception:  # closed by the sink at stop
                    return

        readers.append(threading.Thread(target=read, daemon=True))
        readers[0].start()

    health = _run_town(config, observe)
    readers[0].join(GUARD_S)  # it has read everything the sink sent before closing
    finals["websocket"] = _rebuild([m for m in messages if '"payload_type":"health"' not in m])
    assert health.ok

    assert finals["jsonl"] == finals["tcp"] == finals["websocket"]
    assert finals["jsonl"]["tick"] == 120


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the jsonl path in the config is relative


def test_bad_sink_params_are_user_errors(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(CONFIG.format(name="tcp", params="{port: 70000}"))
    result = CliRunner().invoke(townlet, ["validate", str(config)])
    assert result.exit_code == 2
    assert "bad.yaml:6: telemetry.sinks[0].name = 'tcp'" in result.output
    assert "less than or equal to 65535" in result.output
