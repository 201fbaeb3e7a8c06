"""No console request stops or blocks the town: audit, snapshot paths, nesting, connections."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.test_console import Ticker
from tests.helpers import default_config, make_world, run_scripted, wait_for
from townlet.core.console.audit import AuditLog
from townlet.core.console.bus import ConsoleBus, Result
from townlet.core.console.server import ConsoleServer, send
from townlet.core.errors import ConfigError, TownletError
from townlet.core.sim import Simulation
from townlet.core.world.world import World

ADMIN, VIEWER = "admin-token", "viewer-token"


def req(cmd_id: str, command: str, token: str = ADMIN, **args: Any) -> dict[str, Any]:
    return {"cmd_id": cmd_id, "token": token, "command": command, "args": args}


def finishes(func: Any, *args: Any) -> Any:
    """Run ``func`` in a thread; fail (instead of hanging the suite) if it blocks."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(func(*args)), daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), f"{func.__name__} blocked"
    return box[0]


@pytest.fixture
def world() -> World:
    w = make_world()
    run_scripted(w, 5)
    return w


@pytest.fixture
def snaps(tmp_path: Path) -> Path:
    d = tmp_path / "snaps"
    d.mkdir()
    return d


@pytest.fixture
def bus(tmp_path: Path, snaps: Path) -> ConsoleBus:
    return ConsoleBus(
        admin_tokens=[ADMIN],
        viewer_tokens=[VIEWER],
        audit_log=tmp_path / "audit.jsonl",
        snapshot_dir=snaps,
    )


def audit_lines(bus: ConsoleBus) -> list[dict[str, Any]]:
    assert bus.audit_log is not None
    return [json.loads(line) for line in bus.audit_log.read_text().splitlines()]


# -- item 1: the audit log -----------------------------------------------------------


def test_failed_audit_writes_never_stop_the_run_and_are_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    bus = ConsoleBus(admin_tokens=[ADMIN], audit_log=blocker / "audit.jsonl")
    sim = Simulation(default_config(), console=bus)
    answers: list[Any] = []

    def operator() -> None:
        answers.append(bus.request(req("a", "set_exit_cap", value=2), timeout=60))
        answers.append(bus.request(req("b", "status", token=ADMIN), timeout=60))

    thread = threading.Thread(target=operator)
    thread.start()
    summary = sim.run(10**6, should_stop=lambda: not thread.is_alive())
    thread.join()
    assert [a.ok for a in answers] == [True, True]
    assert summary.console["audit_failures"] == 2  # the admin line and the tally of reads
    assert summary.as_dict()["console"]["requests"] == 2

    from townlet.core.cli.run import format_summary

    text = format_summary("t", 360, summary)
    assert "  console\n" in text and "audit writes failed 2" in text


def test_a_fifo_as_audit_log_does_not_block_the_tick(world: World, tmp_path: Path) -> None:
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    bus = ConsoleBus(admin_tokens=[ADMIN], audit_log=fifo)
    result = finishes(bus.execute, world, req("a", "set_exit_cap", value=2))
    assert result.ok and bus.audit_failures == 1


def test_viewer_reads_are_tallied_not_logged_one_by_one(bus: ConsoleBus, world: World) -> None:
    for i in range(300):
        assert bus.execute(world, req(f"r{i}", "status", token=VIEWER)).ok
    bus.execute(world, req("f", "kill", token=VIEWER, agent="agent_001"))
    assert not bus.audit_log.exists()  # type: ignore[union-attr]  # nothing due yet
    bus.flush_audit()
    (tally,) = audit_lines(bus)
    assert tally["kind"] == "tally" and tally["tick"] == world.tick
    assert tally["counts"] == [
        {"issuer": "viewer", "command": "kill", "code": "forbidden", "count": 1},
        {"issuer": "viewer", "command": "status", "code": "ok", "count": 300},
    ]


def test_tallies_are_written_once_per_interval(tmp_path: Path) -> None:
    now = [0.0]
    log = AuditLog(tmp_path / "a.jsonl", tally_interval=60.0, clock=lambda: now[0])
    log.tally(1, "viewer", "status", "ok")
    now[0] = 59.0
    log.tally(2, "viewer", "status", "ok")
    assert not (tmp_path / "a.jsonl").exists()
    now[0] = 61.0
    log.tally(3, "viewer", "status", "ok")
    (line,) = (tmp_path / "a.jsonl").read_text().splitlines()
    assert json.loads(line)["counts"][0]["count"] == 3
    assert (json.loads(line)["first_tick"], json.loads(line)["tick"]) == (1, 3)


def test_status_reports_the_console_counters(world: World, tmp_path: Path) -> None:
    bus = ConsoleBus(admin_tokens=[ADMIN], audit_log=tmp_path)  # a directory: writes fail
    bus.execute(world, req("a", "set_exit_cap", value=2))
    status = bus.execute(world, req("s", "status"))
    assert status.data["console"]["audit_failures"] == 1
    assert status.data["console"]["requests"] == 1


# -- item 3: snapshot paths -----------------------------------------------------------


def hostile_paths(tmp_path: Path, snaps: Path, action: str) -> dict[str, str]:
    """Paths that must be refused, by what they are (a real device only to load from)."""
    (snaps / "adir").mkdir()
    os.mkfifo(snaps / "pipe.townlet")
    outside = tmp_path / "outside.townlet"
    outside.write_bytes(b"not mine")
    (snaps / "link.townlet").symlink_to(outside)
    (snaps / "zero.townlet").symlink_to("/dev/zero")
    device = {"a device": "/dev/zero"} if action == "load" else {}
    return {
        **device,
        "a link to a device": "zero.townlet",
        "absolute outside": str(outside),
        "traversal": "../outside.townlet",
        "traversal inside the name": str(snaps / ".." / "outside.townlet"),
        "another directory": str(tmp_path / "elsewhere" / "x.townlet"),
        "a directory": "adir",
        "a fifo": "pipe.townlet",
        "a symbolic link": "link.townlet",
        "a hidden name": ".x.townlet.abc.tmp",
        "dot-dot": "..",
        "a NUL": "x\0.townlet",
    }


@pytest.mark.parametrize("action", ["save", "load"])
def test_snapshot_paths_are_confined_to_the_snapshot_dir(
    bus: ConsoleBus, world: World, tmp_path: Path, snaps: Path, action: str
) -> None:
    paths = hostile_paths(tmp_path, snaps, action)
    before = world.state_hash()
    listing = sorted(p.name for p in tmp_path.rglob("*"))
    outside = (tmp_path / "outside.townlet").read_bytes()
    for i, (what, path) in enumerate(paths.items()):
        result = finishes(bus.execute, world, req(f"{i}", "snapshot", action=action, path=path))
        assert (result.ok, result.code) == (False, "path_refused"), (what, result)
        assert result.message
    assert world.state_hash() == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted([*listing, "audit.jsonl"])
    assert (tmp_path / "outside.townlet").read_bytes() == outside
    codes = [e["result"]["code"] for e in audit_lines(bus)]
    assert codes == ["path_refused"] * len(paths)  # every refusal is audited


def test_snapshot_save_failures_are_answers(
    bus: ConsoleBus, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def full(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    result = bus.execute(world, req("s", "snapshot", action="save", path="a.townlet"))
    assert (result.ok, result.code) == (False, "snapshot_failed")
    assert "No space left" in result.message


def test_snapshot_dir_that_is_a_file_is_refused(world: World, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    bus = ConsoleBus(admin_tokens=[ADMIN], snapshot_dir=blocker)
    for action in ("save", "load"):
        result = bus.execute(world, req(action, "snapshot", action=action, path="a.townlet"))
        assert (result.ok, result.code) == (False, "path_refused")


def test_damaged_snapshots_are_refused_through_the_console(
    bus: ConsoleBus, world: World, snaps: Path
) -> None:
    assert bus.execute(world, req("s", "snapshot", action="save", path="good.townlet")).ok
    data = bytearray((snaps / "good.townlet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (snaps / "flipped.townlet").write_bytes(bytes(data))
    (snaps / "empty.townlet").write_bytes(b"")
    run_scripted(world, 3)
    before = world.state_hash()
    for name in ("flipped.townlet", "empty.townlet"):
        result = bus.execute(world, req(name, "snapshot", action="load", path=name))
        assert (result.ok, result.code) == (False, "snapshot_refused"), result
    assert world.state_hash() == before


def test_without_a_snapshot_dir_the_command_is_refused(world: World) -> None:
    bus = ConsoleBus(admin_tokens=[ADMIN])
    result = bus.execute(world, req("s", "snapshot", action="save", path="a.townlet"))
    assert (result.ok, result.code) == (False, "no_snapshot_dir")


# -- item 15: nesting, connection cap, idle timeout -----------------------------------


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_args_are_a_bad_request(bus: ConsoleBus, world: World) -> None:
    result = bus.execute(world, req("d", "set_exit_cap", value=nested(990)))
    assert (result.ok, result.code) == (False, "bad_request")
    assert bus.health()["bad_requests"] == 1


@pytest.fixture
def served(bus: ConsoleBus, world: World) -> Iterator[tuple[ConsoleServer, str, int]]:
    # idle_timeout far beyond any test step: a slow CI core must not close a connection
    # mid-test (test_idle_connections_are_closed_and_counted sets its own short one)
    server = ConsoleServer(bus, 0, max_connections=2, idle_timeout=600)
    server.start()
    with Ticker(world, bus):
        yield (server, *server.address)
    server.stop()


def exchange(sock: socket.socket, line: bytes) -> dict[str, Any]:
    sock.sendall(line + b"\n")
    answer = sock.makefile("rb").readline()
    assert answer, "no answer"
    result: dict[str, Any] = json.loads(answer)
    return result


def test_deeply_nested_json_lines_get_bad_request(served, bus: ConsoleBus) -> None:
    _, host, port = served
    head = json.dumps(req("n", "status", token=VIEWER))[: -len("{}}")]  # open "args": {
    deep_args = head + '{"a": ' + "[" * 990 + "]" * 990 + "}}"
    for line in (b"[" * 10_000 + b"]" * 10_000, deep_args.encode()):
        with socket.create_connection((host, port), timeout=30) as sock:
            answer = exchange(sock, line)
            assert (answer["ok"], answer["code"]) == (False, "bad_request")
            status = exchange(sock, json.dumps(req("ok", "status", token=VIEWER)).encode())
            assert status["ok"]  # the same connection is still served
    assert bus.health()["internal_errors"] == 0


def test_connections_beyond_the_cap_are_turned_away_and_counted(served, bus) -> None:
    _, host, port = served
    status = json.dumps(req("s", "status", token=VIEWER)).encode()
    with (
        socket.create_connection((host, port), timeout=30) as a,
        socket.create_connection((host, port), timeout=30) as b,
    ):
        assert exchange(a, status)["ok"] and exchange(b, status)["ok"]
        with socket.create_connection((host, port), timeout=30) as c:
            answer = json.loads(c.makefile("rb").readline())
            assert answer["code"] == "too_many_connections"
            assert c.recv(1) == b""  # and closed
    assert bus.health()["connections_refused"] == 1
    answers: list[dict[str, Any]] = []

    def served_again() -> bool:  # the two closed connections are released
        try:
            answers[:] = send(host, port, [req("again", "status", token=VIEWER)])
        except ConnectionError:
            return False
        return answers[0]["code"] != "too_many_connections"

    assert wait_for(served_again, interval=0.01)
    assert answers[0]["ok"]


def test_idle_connections_are_closed_and_counted(bus) -> None:
    server = ConsoleServer(bus, 0, idle_timeout=0.2)
    server.start()
    host, port = server.address
    try:
        with socket.create_connection((host, port), timeout=30) as sock:
            assert sock.recv(1) == b""  # the server hangs up on a silent client
    finally:
        server.stop()
    assert wait_for(lambda: bus.health()["idle_closed"] == 1)  # the count follows the close


# -- item 8: addresses and tokens -----------------------------------------------------


def test_ipv6_loopback_works(bus: ConsoleBus, world: World) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = ConsoleServer(bus, 0, host="::1")
    except TownletError as exc:  # a host without ::1 configured
        pytest.skip(f"::1 unavailable: {exc}")
    server.start()
    try:
        host, port = server.address
        assert server.endpoint == f"[::1]:{port}"
        with Ticker(world, bus):
            (answer,) = send(host, port, [req("v6", "status", token=VIEWER)])
        assert answer["ok"]
    finally:
        server.stop()


def test_remote_console_without_tokens_is_refused(world: World) -> None:
    with pytest.raises(ConfigError, match="allow_remote is set but no console token"):
        ConsoleServer(ConsoleBus(), 0, host="127.0.0.1", allow_remote=True)
    from townlet.core.console.config import ConsoleConfig

    env_tokens = ConsoleBus.from_config(
        ConsoleConfig(allow_remote=True), {"TOWNLET_CONSOLE_VIEWER_TOKEN": "v"}
    )
    server = ConsoleServer(env_tokens, 0, host="127.0.0.1", allow_remote=True)
    server.stop()


def test_a_host_that_cannot_be_bound_is_a_clear_error(bus: ConsoleBus) -> None:

    with pytest.raises(TownletError, match="cannot listen on"):
        ConsoleServer(bus, 0, host="no-such-host.invalid", allow_remote=True)


def test_a_request_the_tick_has_taken_is_not_answered_timeout(monkeypatch: Any) -> None:
    """The caller's wait can run out just as the tick starts running its request: it
    then waits for that answer instead of reporting a timeout for a command that ran."""
    import types

    import townlet.core.console.bus as bus_module

    bus = ConsoleBus(admin_tokens=["adm"])
    taken, gate = threading.Event(), threading.Event()
    real_event = threading.Event

    class FirstWaitRunsOut(real_event):
        first = True

        def wait(self, timeout: float | None = None) -> bool:
            if self.first:  # runs out once the tick has taken the request
                self.first = False
                assert taken.wait(30)
                return False
            gate.set()  # the tick finishes only after the caller found the request gone
            return super().wait(timeout)

    def execute(world: Any, raw: Any) -> Result:
        taken.set()
        assert gate.wait(30)
        return Result(raw["cmd_id"], True, "ok")

    monkeypatch.setattr(bus, "execute", execute)
    monkeypatch.setattr(
        bus_module, "threading", types.SimpleNamespace(Event=FirstWaitRunsOut, Lock=threading.Lock)
    )
    answers: list[Result] = []
    caller = threading.Thread(
        target=lambda: answers.append(bus.request({"cmd_id": "x", "token": "adm"}, timeout=30))
    )
    caller.start()
    while not bus._pending:  # the request is queued
        caller.join(0.001)
    bus.apply_pending(None)  # type: ignore[arg-type]
    caller.join(30)
    assert [a.code for a in answers] == ["ok"]
