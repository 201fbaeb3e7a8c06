"""`townlet run --console-port` and `townlet console --eval` as separate processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from townlet.core.cli.console import parse_command
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
