"""`townlet run --console-port` and `townlet console --eval` as separate processes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from townlet.core.cli.console import parse_command
from townlet.core.console.server import send
from townlet.core.errors import TownletError


def test_parse_positional_and_named() -> None:
    assert parse_command("teleport agent_001 3 4") == {
        "command": "teleport",
        "args": {"agent": "agent_001", "x": 3, "y": 4},
    }
    assert parse_command("price item=meal factor=1.5") == {
        "command": "price",
        "args": {"item": "meal", "factor": 1.5},
    }
    with pytest.raises(TownletError, match="too many arguments"):
        parse_command("status extra")


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "On"])
def test_on_off_words_stay_words(word: str) -> None:
    assert parse_command(f"blackout {word}")["args"] == {"state": word}


def test_true_and_false_are_still_booleans() -> None:
    assert parse_command("price item=meal factor=true")["args"]["factor"] is True


def test_a_console_that_hangs_up_without_answering_is_a_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def hang_up() -> None:
            conn, _ = server.accept()
            conn.recv(4096)
            conn.close()

        thread = threading.Thread(target=hang_up)
        thread.start()
        with pytest.raises(ConnectionError, match="without answering"):
            send("127.0.0.1", port, [{"command": "status"}])
        thread.join()


def test_console_talks_to_a_running_town(tmp_path: Path) -> None:
    env = dict(os.environ, TOWNLET_CONSOLE_ADMIN_TOKEN="tok", TOWNLET_CONSOLE_TOKEN="tok")
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "townlet.core",
            "run",
            "--ticks",
            "100000000",
            "--quiet",
            "--console-port",
            "0",
            "--set",
            f"console.audit_log={tmp_path / 'audit.jsonl'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = run.stderr.readline()
        address = re.search(r"console listening on (\S+)", line).group(1)
        cmd = [sys.executable, "-m", "townlet.core", "console", "--connect", address, "--eval"]
        ok = subprocess.run(
            [*cmd, "setneed agent_001 hunger 0.5"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["data"] == {"agent": "agent_001", "hunger": 0.5}
        env_bad = dict(env, TOWNLET_CONSOLE_TOKEN="wrong")
        bad = subprocess.run(
            [*cmd, "status"], env=env_bad, capture_output=True, text=True, timeout=60, check=False
        )
        assert bad.returncode == 1
        assert json.loads(bad.stdout)["code"] == "unauthorized"
    finally:
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=60)
    assert "interrupted" in out
    assert "setneed" in (tmp_path / "audit.jsonl").read_text()
