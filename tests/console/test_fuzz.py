"""Console fuzz: every command with random and hostile arguments, as admin, while the town ticks.

A seeded generator (same requests every run) sends each command many times
over the socket from several clients at once, with arguments drawn from valid
values, wrong types, extreme numbers, NaN, huge strings, deep nesting, paths
outside the snapshot directory and special files inside it. The town must
answer every request with a code (never ``internal_error`` or ``timeout``),
keep its invariants and still be ticking at the end.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest

from tests.helpers import default_config, wait_for
from townlet.core.console.bus import ConsoleBus
from townlet.core.console.commands import COMMANDS
from townlet.core.console.server import ConsoleServer
from townlet.core.sim import Simulation
from townlet.core.snapshots import save_snapshot
from townlet.core.world.invariants import violations

ADMIN = "fuzz-admin"
PER_COMMAND = 24
CLIENTS = 4


class Draw:
    """Seeded choices (numpy's generator, so no global random state)."""

    def __init__(self, seed: int) -> None:
        self.gen = np.random.default_rng(seed)

    def random(self) -> float:
        return float(self.gen.random())

    def choice(self, seq: Any) -> Any:
        return seq[int(self.gen.integers(len(seq)))]

    def shuffle(self, seq: list[Any]) -> None:
        seq[:] = [seq[i] for i in self.gen.permutation(len(seq))]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


HOSTILE: list[Any] = [
    None,
    True,
    -1,
    0,
    1,
    2**63,
    -(2**63),
    10**30,
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    "",
    "agent_999",
    "../../etc/passwd",
    "../outside.townlet",
    "\x00",
    "x" * 5000,
    [],
    {},
    {"agent": "agent_001"},
    nested(20),
    nested(60),
]
SNAPSHOT_NAMES = [
    "good.townlet",
    "flipped.townlet",
    "empty.townlet",
    "pipe.townlet",
    "adir",
    "link.townlet",
    "new.townlet",
    "../outside.townlet",
    "zero.townlet",
    "snaps/good.townlet",
    ".hidden.tmp",
]


def plausible(field: str, annotation: Any, rng: Draw, agents: list[str]) -> Any:
    """A value of the right kind for ``field`` (in or just out of range)."""
    choices = get_args(annotation)
    if choices and all(isinstance(c, str) for c in choices):
        return rng.choice(choices) if rng.random() < 0.9 else "nonsense"
    if field in ("agent", "other"):
        return rng.choice([*agents, "agent_999", "nobody"])
    if field == "path":
        return rng.choice(SNAPSHOT_NAMES)
    if annotation is int:
        return rng.choice([0, 1, 3, 9, 15, 40, 10_000, 10**6, -5])
    if annotation is float:
        return rng.choice([0.0, 0.2, 0.5, 0.97, 1.0, 1.5, 9.9, -0.5])
    return rng.choice(["console", "spam" * 100])


def random_args(command: str, rng: Draw, agents: list[str]) -> Any:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice([None, [], "args", 7, nested(50)])  # not a mapping at all
    fields = COMMANDS[command].args.model_fields
    args = {}
    for name, info in fields.items():
        if rng.random() < 0.04:
            continue  # missing
        hostile = rng.random() < 0.12
        args[name] = (
            rng.choice(HOSTILE) if hostile else plausible(name, info.annotation, rng, agents)
        )
    if rng.random() < 0.05:
        args[rng.choice(["extra", "__class__", "x" * 100])] = rng.choice(HOSTILE)
    return args


def requests(seed: int, agents: list[str]) -> list[dict[str, Any]]:
    rng = Draw(seed)
    out = []
    for command in sorted(COMMANDS):
        for i in range(PER_COMMAND):
            out.append(
                {
                    "cmd_id": f"{command}-{i}",
                    "token": ADMIN,
                    "command": command,
                    "args": random_args(command, rng, agents),
                }
            )
    rng.shuffle(out)
    return out


def client(host: str, port: int, batch: list[dict[str, Any]], answers: list[Any]) -> None:
    """One connection sending its requests one after another, collecting every answer."""
    with socket.create_connection((host, port), timeout=120) as sock:
        f = sock.makefile("rwb")
        for request in batch:
            f.write(json.dumps(request).encode() + b"\n")  # NaN and inf as JSON extensions
            f.flush()
            line = f.readline()
            answers.append((request, json.loads(line) if line else None))


@pytest.fixture
def snaps(tmp_path: Path) -> Path:
    d = tmp_path / "snaps"
    d.mkdir()
    (d / "adir").mkdir()
    os.mkfifo(d / "pipe.townlet")
    (tmp_path / "outside.townlet").write_bytes(b"outside")
    (d / "link.townlet").symlink_to(tmp_path / "outside.townlet")
    (d / "zero.townlet").symlink_to("/dev/zero")  # a device, reached by a link only
    (d / "empty.townlet").write_bytes(b"")
    return d


def test_admin_fuzz_never_stops_the_town(
    tmp_path: Path, snaps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bus = ConsoleBus(
        admin_tokens=[ADMIN],
        audit_log=tmp_path / "audit.jsonl",
        request_timeout=120,
        snapshot_dir=snaps,
    )
    sim = Simulation(default_config("features.lifecycle=true"), console=bus)
    good = save_snapshot(sim.world, snaps / "good.townlet")
    flipped = bytearray(good.read_bytes())
    flipped[len(flipped) // 3] ^= 0x10
    (snaps / "flipped.townlet").write_bytes(bytes(flipped))

    before = {p.name for p in snaps.iterdir()}
    ticks: list[int] = []
    stop = threading.Event()
    town = threading.Thread(
        target=lambda: sim.run(10**9, on_tick=ticks.append, should_stop=stop.is_set)
    )
    server = ConsoleServer(bus, 0, max_connections=CLIENTS + 1)
    server.start()
    town.start()
    try:
        sent = requests(seed=2026, agents=list(sim.world.agent_ids))
        answers: list[list[Any]] = [[] for _ in range(CLIENTS)]
        clients = [
            threading.Thread(target=client, args=(*server.address, sent[i::CLIENTS], answers[i]))
            for i in range(CLIENTS)
        ]
        for c in clients:
            c.start()
        for c in clients:
            c.join(300)
        assert not any(c.is_alive() for c in clients), "a client is still waiting"
        seen = len(ticks)
        assert wait_for(lambda: len(ticks) > seen + 2), "the town stopped ticking"
    finally:
        stop.set()
        town.join(60)
        server.stop()
    assert not town.is_alive()

    pairs = [pair for batch in answers for pair in batch]
    assert len(pairs) == len(sent)
    codes: dict[str, int] = {}
    for request, answer in pairs:
        assert answer is not None, f"no answer to {request['command']}"
        assert answer["cmd_id"] == request["cmd_id"]
        assert answer["code"] not in ("internal_error", "timeout"), (request, answer)
        assert answer["ok"] or answer["message"]
        codes[answer["code"]] = codes.get(answer["code"], 0) + 1
    assert codes.get("ok", 0) > len(sent) // 5, codes  # not everything was refused
    assert violations(sim.world) == []
    assert (tmp_path / "outside.townlet").read_bytes() == b"outside"
    assert {p.name for p in snaps.iterdir()} <= {*before, "new.townlet"}  # nothing else
    assert bus.health()["internal_errors"] == 0
