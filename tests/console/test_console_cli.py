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


@pytest.mark.parametrize("word", ["9" * 5000, "[" * 3000, "{a:" * 2000])
def test_hostile_words_are_sent_as_words(word: str) -> None:
    assert parse_command(f"agent {word}") == {"command": "agent", "args": {"agent": word}}


def test_unknown_command_with_arguments_is_named() -> None:
    with pytest.raises(TownletError, match="unknown command 'tleport'; commands: status"):
        parse_command("tleport agent_000 3 4")


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
        assert ok.stdout.splitlines() == ["ok", "  agent  agent_001", "  hunger  0.5"]
        cut = subprocess.run(
            [*cmd, "blackout on", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert json.loads(cut.stdout)["data"] == {"power": False}  # blackout on: no power
        env_bad = dict(env, TOWNLET_CONSOLE_TOKEN="wrong")
        bad = subprocess.run(
            [*cmd, "status", "--json"],
            env=env_bad,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert bad.returncode == 1
        assert json.loads(bad.stdout)["code"] == "unauthorized"
        text = subprocess.run(
            [*cmd, "status"], env=env_bad, capture_output=True, text=True, timeout=60, check=False
        )
        assert text.stdout.strip() == "refused unauthorized: unauthorized"
    finally:
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=60)
    assert "interrupted" in out
    assert "setneed" in (tmp_path / "audit.jsonl").read_text()


@pytest.fixture
def no_console_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("TOWNLET_CONSOLE_ADMIN_TOKEN", "TOWNLET_CONSOLE_VIEWER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run_cli(*args: str, env: dict[str, str] | None = None):
    from click.testing import CliRunner

    from townlet.core.cli import townlet

    return CliRunner().invoke(townlet, list(args), env=env, catch_exceptions=False)


def test_a_console_without_tokens_warns_at_start(no_console_env) -> None:
    result = run_cli("run", "--ticks", "3", "--quiet", "--console-port", "0")
    assert result.exit_code == 0, result.output
    assert "every command will be refused" in result.stderr
    warned = run_cli(
        "run", "--ticks", "3", "--quiet", "--console-port", "0",
        env={"TOWNLET_CONSOLE_VIEWER_TOKEN": "v"},
    )  # fmt: skip
    assert "every command will be refused" not in warned.stderr


def test_remote_console_without_tokens_is_refused_at_start(no_console_env) -> None:
    args = ["run", "--ticks", "3", "--console-port", "0", "--set", "console.allow_remote=true"]
    result = run_cli(*args)
    assert result.exit_code == 2
    assert "allow_remote is set but no console token" in result.stderr
    assert run_cli(*args, env={"TOWNLET_CONSOLE_ADMIN_TOKEN": "a"}).exit_code == 0


def test_ipv6_loopback_console_starts(no_console_env) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError as exc:
        pytest.skip(f"::1 unavailable: {exc}")
    result = run_cli(
        "run", "--ticks", "3", "--quiet", "--console-port", "0", "--set", "console.host=::1",
        env={"TOWNLET_CONSOLE_ADMIN_TOKEN": "a"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert re.search(r"console listening on \[::1\]:\d+", result.stderr)


def test_connect_takes_bracketed_ipv6() -> None:
    from townlet.core.cli.console import parse_address

    assert parse_address("[::1]:7311") == ("::1", 7311)
    assert parse_address("127.0.0.1:7311") == ("127.0.0.1", 7311)


def test_answers_print_as_text() -> None:
    from townlet.core.cli.console import format_answer

    text = format_answer(
        {
            "ok": True,
            "data": {"tick": 5, "kpis": {"population": 8.0, "meals": 2.5}, "agents": ["a", "b"]},
        }
    )
    assert text.splitlines() == [
        "ok",
        "  tick  5",
        "  kpis",
        "    population  8",
        "    meals       2.5",
        "  agents  a, b",
    ]
    refused = {"ok": False, "code": "busy", "message": "agent_001 is busy"}
    assert format_answer(refused) == "refused busy: agent_001 is busy"
