"""The tcp sink against real local receivers: killed and restarted mid-run, and over TLS."""

from __future__ import annotations

import gc
import json
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("townlet.telemetry")

from tools.synthetic_town import SyntheticTown
from townlet.core.config.models import TelemetryConfig
from townlet.core.telemetry import SinkHealth, TelemetryHub, apply_diff
from townlet.core.telemetry.sinks import NullParams, NullSink
from townlet.telemetry.sinks.tcp import TcpParams, TcpSink

RECEIVER = r"""
import socket, sys
port, out = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
srv.bind(("127.0.0.1", port))
srv.listen()
print("ready", flush=True)
with open(out, "ab", buffering=0) as fh:
    while True:
        conn, _ = srv.accept()
        pending = b""
        while data := conn.recv(65536):
            *lines, pending = (pending + data).split(b"\n")
            if lines:
                fh.write(b"".join(line + b"\n" for line in lines))
        conn.close()
        print("closed", flush=True)
"""

GUARD_S = 60.0
"""Longest wait for any one event: only a broken sink (or a stalled machine) takes it."""
IN_FLIGHT_BYTES = 3 * 65536
"""What can die with a killed receiver: the sink's send and the receiver's receive
buffer (32 KiB each, doubled by Linux) and one 64 KiB read it had not written yet."""
PHASE_TICKS = (4000, 4000, 5000)
"""Ticks published at least before the kill, while the receiver is down, and after
the restart: the shape of a run, counted in ticks (its tick rate is measured over it)."""


class Receiver:
    """A newline-JSON receiver in its own process, appending what it reads to a file.

    It prints ``ready`` once listening and ``closed`` after each connection
    ended and everything read from it was written.
    """

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.script = tmp_path / "receiver.py"
        self.script.write_text(RECEIVER)
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.out = tmp_path / "unused.jsonl"
        self._read = self._lines = 0

    def start(self, out: Path) -> None:
        self.out, self._read, self._lines = out, 0, 0
        self.proc = subprocess.Popen(
            [sys.executable, str(self.script), str(self.port), str(out)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._next_line() == "ready"

    def lines(self) -> int:
        """Lines written to the current file so far (reads only what is new)."""
        if not self.out.exists():
            return 0
        with self.out.open("rb") as fh:
            fh.seek(self._read)
            new = fh.read()
        self._read += len(new)
        self._lines += new.count(b"\n")
        return self._lines

    def wait_closed(self) -> None:
        """Until the receiver has written everything of a connection the sender ended."""
        assert self._next_line() == "closed"

    def _next_line(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], GUARD_S)
        assert ready, f"the receiver said nothing for {GUARD_S} s"
        return self.proc.stdout.readline().strip()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(GUARD_S)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            self.proc = None


@pytest.fixture
def receiver(tmp_path: Path, free_port: Callable[[], int]) -> Iterator[Receiver]:
    rx = Receiver(tmp_path, free_port())
    yield rx
    rx.kill()


def _drive(hub: TelemetryHub, stop: Callable[[int], bool]) -> tuple[int, float]:
    """Publish a synthetic town until ``stop(tick)``; the ticks and the process CPU
    seconds they took (the sink's threads included; other processes on a busy
    machine not). The garbage collector is paused meanwhile: its pauses belong to
    the process.
    """
    town = SyntheticTown(n_agents=8, seed=21, churn=0.01)
    gc.disable()
    try:
        start = time.process_time()
        while not stop(town.tick):
            world = town.step()
            hub.publish_world(town.tick, world)
        cpu = time.process_time() - start
    finally:
        gc.enable()
    return town.tick, cpu


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def _kill_and_restart(
    receiver: Receiver, tmp_path: Path, attempt: int, until: Callable[..., bool]
) -> tuple[TelemetryHub, Path, Path, int, float]:
    """One run: the town publishes while a controller kills the receiver once it has
    read part of the stream, waits until the hub has dropped messages for the dead
    sink (the town ran on meanwhile), restarts it and waits until it reads again.
    Each phase also lasts its :data:`PHASE_TICKS`."""
    params = TcpParams(
        port=receiver.port, backoff_initial_s=0.01, backoff_max_s=0.1, send_buffer_bytes=32768
    )
    config = TelemetryConfig(buffer_messages=1000, health_every=0, flush_timeout_s=GUARD_S)
    first, second = tmp_path / f"first{attempt}.jsonl", tmp_path / f"second{attempt}.jsonl"
    receiver.start(first)
    hub = TelemetryHub([("tcp", TcpSink(params))], config)
    done = threading.Event()
    problems: list[str] = []

    before, down, after = PHASE_TICKS

    def published(count: int) -> Callable[[], bool]:
        """Whether ``count`` more ticks have been published since this call."""
        start = hub.health().tick or 0
        return lambda: (hub.health().tick or 0) - start >= count

    def outage_seen(dropped_before: int) -> bool:
        h = hub.health().sinks[0]
        return not h.connected and h.dropped_messages > dropped_before

    def phase(what: str, *conditions: Callable[[], bool]) -> bool:
        for condition in conditions:
            if not until(condition, GUARD_S, 0.02):
                problems.append(f"{what}: not within {GUARD_S} s")
                return False
        return True

    control_cpu: list[float] = []

    def control() -> None:
        try:
            if not phase(
                "the first receiver reads", published(before), lambda: receiver.lines() >= 50
            ):
                return
            dropped = hub.health().sinks[0].dropped_messages
            receiver.kill()
            if not phase(
                "the hub drops for the dead receiver",
                published(down),
                lambda: outage_seen(dropped),
            ):
                return
            receiver.start(second)
            phase("the restarted receiver reads", published(after), lambda: receiver.lines() > 150)
        finally:
            if receiver.proc is None:  # a producer waiting on the dead receiver can go on
                receiver.start(second)
            control_cpu.append(time.thread_time())  # the test's own work, not the run's
            done.set()

    hub.start()
    controller = threading.Thread(target=control)
    controller.start()
    ticks, cpu = _drive(hub, lambda _: done.is_set())
    controller.join(GUARD_S)
    assert not problems, problems
    return hub, first, second, ticks, cpu - control_cpu[0]


def test_receiver_killed_and_restarted_mid_run(
    receiver: Receiver, tmp_path: Path, until: Callable[..., bool]
) -> None:
    """The run never waits on the dead receiver, reconnects, and accounts for every message.

    Every step waits on an event (lines received, messages dropped), never on a
    time window. Tick rates are compared in CPU time per process (the test's
    controller left out) over the same ticks, and the best of three attempts
    counts: other work on a shared machine must not decide the test.
    """
    ratios = []
    for attempt in range(3):
        hub, first, second, ticks, cpu = _kill_and_restart(receiver, tmp_path, attempt, until)
        final = json.loads(json.dumps(hub.snapshot))
        health = hub.stop().sinks[0]
        receiver.wait_closed()  # it has written all it was sent
        receiver.kill()
        null = TelemetryHub([("null", NullSink(NullParams()))], hub.config)
        null.start()
        _, null_cpu = _drive(null, lambda tick, last=ticks: tick >= last)
        null.stop()
        ratios.append(null_cpu / cpu)  # over the same ticks: the tick rates' ratio
        if attempt == 0:
            _check_delivery(health, final, first, second)
        if ratios[-1] >= 0.9:
            break
    assert max(ratios) >= 0.9, f"tcp/null tick rate ratios: {[round(r, 2) for r in ratios]}"


def _check_delivery(health: SinkHealth, final: dict[str, Any], first: Path, second: Path) -> None:
    # every message was delivered or counted as dropped (+1: the health report at stop)
    assert health.emitted == final["tick"] + 1
    assert health.delivered + health.dropped_messages == health.emitted
    assert health.dropped_messages > 0 and health.errors == 0
    assert health.detail["connections"] == 2
    # the receivers got what was delivered, give or take what was in flight when the
    # first one was killed, counted in messages no smaller than any that arrived
    got_first, got_second = _lines(first), _lines(second)
    received = len({json.dumps(p, sort_keys=True) for p in got_first + got_second})
    smallest = min(len(line) + 1 for f in (first, second) for line in f.read_bytes().splitlines())
    assert abs(health.delivered - received) <= IN_FLIGHT_BYTES // smallest
    assert len(got_second) > 100
    # each connection starts whole; the new one's diffs rebuild the final world exactly
    assert got_first[0]["payload_type"] == got_second[0]["payload_type"] == "world_snapshot"
    state = got_second[0]
    for payload in got_second[1:-1]:
        kind = payload["payload_type"]
        state = payload if kind == "world_snapshot" else apply_diff(state, payload)
    assert state == final
    assert got_second[-1]["payload_type"] == "health"


def test_stop_while_the_receiver_is_down_is_prompt_and_counted(free_port) -> None:
    tcp = TcpSink(TcpParams(port=free_port(), backoff_initial_s=0.05))
    hub = TelemetryHub([("tcp", tcp)], TelemetryConfig(health_every=0, flush_timeout_s=0.3))
    hub.start()
    town = SyntheticTown(seed=2)
    for _ in range(50):
        hub.publish_world(town.tick + 1, town.step())
    start = time.monotonic()
    h = hub.stop().sinks[0]
    assert time.monotonic() - start < 10  # a hang guard: being woken shows in last_error
    assert h.delivered == 0 and h.dropped_messages == h.emitted == 51
    assert h.last_error == "emit: SinkStopped: stopped while waiting for the receiver"
    assert h.detail["transport_error"].startswith("connect: ConnectionRefusedError")
    assert not h.connected


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            buf = b""
            while data := tls.recv(65536):
                buf += data
            received.extend(buf.splitlines())

    thread = threading.Thread(target=serve)
    thread.start()
    params = TcpParams(port=server.getsockname()[1], tls=True, tls_ca_file=str(cert))
    hub = TelemetryHub([("tcp", TcpSink(params))], TelemetryConfig(health_every=0))
    with hub:
        for tick in range(20):
            hub.publish_metrics(tick, {"x": float(tick)})
    thread.join(GUARD_S)
    server.close()
    assert hub.stop().sinks[0].delivered == 21
    assert [json.loads(r)["payload_type"] for r in received] == ["metric"] * 20 + ["health"]
