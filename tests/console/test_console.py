"""The console: every command's success and refusals, auth, idempotency, audit, socket."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import make_world, run_scripted
from townlet.core.console.bus import ConsoleBus
from townlet.core.console.commands import COMMANDS
from townlet.core.console.server import ConsoleServer, send
from townlet.core.errors import ConfigError
from townlet.core.world.options import Option

ADMIN, VIEWER = "admin-token", "viewer-token"


@pytest.fixture
def world():
    w = make_world("features.stages.relationships=C", "features.lifecycle=true")
    run_scripted(w, 50)
    return w


@pytest.fixture
def bus(tmp_path: Path) -> ConsoleBus:
    return ConsoleBus(
        admin_tokens=[ADMIN],
        viewer_tokens=[VIEWER],
        audit_log=tmp_path / "audit.jsonl",
        snapshot_dir=tmp_path / "snaps",
    )


def call(
    bus: ConsoleBus, world, command: str, token: str = ADMIN, cmd_id: str | None = None, **args
):
    body = {
        "cmd_id": cmd_id or f"{command}-{len(bus._results)}",
        "token": token,
        "command": command,
        "args": args,
    }
    return bus.execute(world, body)


SUCCESS = [
    ("status", {}),
    ("agent", {"agent": "agent_002"}),
    ("teleport", {"agent": "agent_001", "x": 3, "y": 3}),
    ("price", {"item": "meal", "factor": 2.0}),
    ("blackout", {"state": "on"}),
    ("water", {"state": "off"}),
    ("rain", {"state": "start"}),
    ("possess", {"agent": "agent_004"}),
    ("setneed", {"agent": "agent_001", "need": "hunger", "value": 0.25}),
    ("set_rel", {"agent": "agent_001", "other": "agent_002", "dim": "rivalry", "value": 0.7}),
    ("arrange_meet", {"agent": "agent_001", "other": "agent_002"}),
    ("kill", {"agent": "agent_007"}),
    ("toggle_mortality", {"state": "off"}),
    ("set_exit_cap", {"value": 5}),
    ("set_spawn_delay", {"min_ticks": 3, "max_ticks": 9}),
    ("set_death_threshold", {"deficit": 0.9}),
]


@pytest.mark.parametrize(("command", "args"), SUCCESS)
def test_command_succeeds(bus, world, command, args) -> None:
    if command == "possess":  # pick someone awake: possessing a sleeper is refused
        sleep = world.affordances.index("sleep")
        awake = int(np.flatnonzero(world.agents.aff != sleep)[0])
        args = {"agent": world.agent_ids[awake]}
    result = call(bus, world, command, **args)
    assert result.ok, result
    assert result.code == "ok"


def test_every_command_is_covered() -> None:
    covered = {c for c, _ in SUCCESS} | {"spawn", "control", "force_chat", "snapshot"}
    assert covered == set(COMMANDS)


def test_effects_are_real(bus, world) -> None:
    call(bus, world, "teleport", agent="agent_001", x=3, y=3)
    assert tuple(world.agents.xy[1]) == (3, 3) and world.agents.ctx_reset[1]
    call(bus, world, "price", item="meal", factor=2.0)
    assert world.economy.price[1] == 2000
    call(bus, world, "blackout", state="on")  # the blackout is on: no power
    assert not world.utility_on[0]
    run_scripted(world, 200)
    assert not world.utility_on[0]  # held off until the console restores it
    call(bus, world, "blackout", state="off")
    assert world.utility_on[0]
    call(bus, world, "water", state="off")
    assert not world.utility_on[1]
    call(bus, world, "water", state="on")
    assert world.utility_on[1]
    call(bus, world, "set_rel", agent="agent_001", other="agent_002", dim="rivalry", value=0.7)
    assert world.relations.tie(1, 2)[2] == pytest.approx(0.7)
    call(bus, world, "kill", agent="agent_007")
    assert not world.agents.alive[7]
    spawned = call(bus, world, "spawn")
    assert spawned.ok and world.agents.alive[7]
    assert call(bus, world, "spawn").code == "town_full"


REFUSED = [
    ("teleport", {"agent": "agent_001", "x": 1, "y": 1}, "blocked_tile"),  # a wall
    ("teleport", {"agent": "agent_001", "x": 2, "y": 2}, "blocked_tile"),  # a bed
    ("teleport", {"agent": "agent_001", "x": 99, "y": 1}, "out_of_bounds"),
    ("teleport", {"agent": "nobody", "x": 3, "y": 3}, "unknown_agent"),
    ("teleport", {"agent": "agent_001", "x": -1, "y": 3}, "bad_args"),
    ("price", {"item": "caviar", "factor": 2}, "bad_args"),
    ("price", {"item": "meal", "factor": 0}, "bad_args"),
    ("blackout", {"state": "maybe"}, "bad_args"),
    ("rain", {"state": "pour"}, "bad_args"),
    ("setneed", {"agent": "agent_001", "need": "joy", "value": 0.5}, "bad_args"),
    ("setneed", {"agent": "agent_001", "need": "hunger", "value": 1.5}, "bad_args"),
    (
        "set_rel",
        {"agent": "agent_001", "other": "agent_001", "dim": "trust", "value": 0.1},
        "same_agent",
    ),
    (
        "set_rel",
        {"agent": "agent_001", "other": "ghost", "dim": "trust", "value": 0.1},
        "unknown_agent",
    ),
    (
        "set_rel",
        {"agent": "agent_001", "other": "agent_002", "dim": "love", "value": 0.1},
        "bad_args",
    ),
    ("force_chat", {"agent": "agent_001", "other": "agent_001"}, "same_agent"),
    ("arrange_meet", {"agent": "agent_001", "other": "agent_001"}, "same_agent"),
    ("kill", {"agent": "ghost"}, "unknown_agent"),
    ("possess", {"agent": "agent_001", "action": "release"}, "not_possessed"),
    ("control", {"agent": "agent_001", "option": "sleep"}, "not_possessed"),
    ("control", {"agent": "agent_001", "option": "dance"}, "bad_args"),
    ("set_exit_cap", {"value": -1}, "bad_args"),
    ("set_spawn_delay", {"min_ticks": 9, "max_ticks": 3}, "bad_range"),
    ("set_death_threshold", {"deficit": 0}, "bad_args"),
    ("snapshot", {"action": "load", "path": "/nonexistent/x.townlet"}, "path_refused"),
    ("snapshot", {"action": "load", "path": "missing.townlet"}, "path_refused"),
    ("snapshot", {"action": "fly", "path": "x"}, "bad_args"),
    ("status", {"verbose": True}, "bad_args"),
]


@pytest.mark.parametrize(("command", "args", "code"), REFUSED)
def test_command_refusals_change_nothing(bus, world, command, args, code) -> None:
    before = world.state_hash()
    result = call(bus, world, command, **args)
    assert (result.ok, result.code) == (False, code), result
    assert result.message
    assert world.state_hash() == before


def test_possession_take_control_release(bus, world) -> None:
    sleeping = world.affordances.index("sleep")
    world.agents.aff[3] = sleeping
    assert call(bus, world, "possess", agent="agent_003").code == "asleep"
    world.agents.aff[3] = -1
    assert call(bus, world, "possess", agent="agent_003").ok
    assert world.agents.possessed[3] and world.agents.ctx_reset[3]
    assert call(bus, world, "possess", agent="agent_003").code == "already_possessed"
    assert call(bus, world, "control", agent="agent_003", option="socialise").ok
    run_scripted(world, 3)
    assert world.agents.option[3] == Option.SOCIALISE
    assert call(bus, world, "control", agent="agent_003", option="go_to_work").code in (
        "ok",
        "masked",
    )
    assert call(bus, world, "possess", agent="agent_003", action="release").ok
    assert not world.agents.possessed[3] and world.agents.forced[3] == -1


def test_force_chat_refused_while_busy_then_happens(bus, world) -> None:
    world.agents.aff[2] = world.affordances.index("eat")
    assert call(bus, world, "force_chat", agent="agent_001", other="agent_002").code == "busy"
    world.agents.aff[1] = world.agents.aff[2] = -1
    chats = world.social.chats
    assert call(bus, world, "force_chat", agent="agent_001", other="agent_002").ok
    assert world.social.chats == chats + 1


def test_snapshot_commands(bus, world, tmp_path: Path) -> None:
    path = tmp_path / "snaps" / "c.townlet"
    saved = call(bus, world, "snapshot", action="save", path="c.townlet")
    assert saved.ok and path.exists()
    tick = world.tick
    run_scripted(world, 20)
    loaded = call(bus, world, "snapshot", action="load", path=str(path))  # dir/name works too
    assert loaded.ok and world.tick == tick


def test_viewer_cannot_run_admin_commands(bus, world) -> None:
    assert call(bus, world, "status", token=VIEWER).ok
    before = world.state_hash()
    for command, args in SUCCESS:
        if COMMANDS[command].role == "admin":
            assert call(bus, world, command, token=VIEWER, **args).code == "forbidden"
    assert world.state_hash() == before


def test_bad_token_reveals_nothing(bus, world) -> None:
    real = call(bus, world, "teleport", token="nope", agent="agent_001", x=3, y=3)
    fake = call(bus, world, "no_such_command", token="nope")
    assert (
        (real.code, real.message) == (fake.code, fake.message) == ("unauthorized", "unauthorized")
    )
    assert call(bus, world, "no_such_command").code == "unknown_command"


def test_replayed_cmd_id_is_not_applied_twice(bus, world) -> None:
    first = call(bus, world, "setneed", cmd_id="x1", agent="agent_001", need="hunger", value=0.5)
    world.agents.needs[1, 0] = 0.9
    again = call(bus, world, "setneed", cmd_id="x1", agent="agent_001", need="hunger", value=0.5)
    assert again == first
    assert world.agents.needs[1, 0] == pytest.approx(0.9)


def test_audit_log_records_accepted_commands_without_tokens(bus, world, tmp_path: Path) -> None:
    call(bus, world, "teleport", agent="agent_001", x=3, y=3)
    call(bus, world, "teleport", agent="agent_001", x=1, y=1)
    call(bus, world, "status", token=VIEWER)
    call(bus, world, "status", token="bad")
    bus.flush_audit()
    text = (tmp_path / "audit.jsonl").read_text()
    entries = [json.loads(line) for line in text.splitlines()]
    assert [
        (e.get("command"), e.get("issuer"), e.get("result", {}).get("code")) for e in entries
    ] == [
        ("teleport", "admin", "ok"),
        ("teleport", "admin", "blocked_tile"),
        (None, None, None),  # reads are tallied
    ]
    assert entries[2]["counts"] == [
        {"issuer": "viewer", "command": "status", "code": "ok", "count": 1}
    ]
    assert {"time", "tick", "args"} <= set(entries[0])
    assert ADMIN not in text and VIEWER not in text


def test_tokens_from_the_environment(world) -> None:
    from townlet.core.console.config import ConsoleConfig

    bus = ConsoleBus.from_config(
        ConsoleConfig(audit_log=Path("/dev/null")), {"TOWNLET_CONSOLE_ADMIN_TOKEN": "a1,a2"}
    )
    assert call(bus, world, "status", token="a2").ok


class Ticker:
    """Steps a world in the background, applying console commands every tick."""

    def __init__(self, world, bus) -> None:
        self.world, self.bus = world, bus
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        wait = np.zeros(self.world.n_agents, dtype=np.int64)
        while not self.stop.is_set():
            self.bus.apply_pending(self.world)
            self.world.step(wait)
            self.stop.wait(0.002)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def served(bus, world):
    server = ConsoleServer(bus, 0)
    server.start()
    with Ticker(world, bus):
        yield server.address
    server.stop()


def test_socket_round_trip(served, world) -> None:
    host, port = served
    (ok, bad) = send(
        host,
        port,
        [
            {
                "cmd_id": "s1",
                "token": ADMIN,
                "command": "setneed",
                "args": {"agent": "agent_001", "need": "energy", "value": 0.4},
            },
            {"cmd_id": "s2", "token": "x", "command": "status"},
        ],
    )
    assert ok["ok"] and bad["code"] == "unauthorized"
    assert host == "127.0.0.1"


def test_console_refuses_non_loopback_binds(bus) -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        ConsoleServer(bus, 0, host="0.0.0.0")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
            max_leaves=10,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_malformed_input_never_hurts_the_town(served, world, payload: bytes) -> None:
    host, port = served
    tick = world.tick
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(payload.replace(b"\n", b" ") + b"\n")
        sock.shutdown(socket.SHUT_WR)  # blank lines get no answer; EOF ends the session
        f = sock.makefile("rb")
        line = f.readline()
    if line:
        answer = json.loads(line)
        assert answer["ok"] is False
    (status,) = send(
        host,
        port,
        [
            {
                "cmd_id": f"ok-{tick}-{len(payload)}-{hash(payload)}",
                "token": VIEWER,
                "command": "status",
            }
        ],
    )
    assert status["ok"]
    assert world.tick >= tick
