"""The tcp sink against real local receivers: killed and restarted mid-run, and over TLS."""

from __future__ import annotations

import gc
import json
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

from townlet.core.config.models import TelemetryConfig
from townlet.core.telemetry import SinkHealth, TelemetryHub, apply_diff
from townlet.core.telemetry.sinks import NullParams, NullSink
from townlet.core.telemetry.synthetic import SyntheticTown
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
"""


class Receiver:
    """A newline-JSON receiver in its own process, appending what it reads to a file."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.script = tmp_path / "receiver.py"
        self.script.write_text(RECEIVER)
        self.port = port
        self.proc: subprocess.Popen[str] | None = None

    def start(self, out: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(self.script), str(self.port), str(out)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            self.proc = None


@pytest.fixture
def receiver(tmp_path: Path, free_port: Callable[[], int]) -> Iterator[Receiver]:
    rx = Receiver(tmp_path, free_port())
    yield rx
    rx.kill()


def _drive(hub: TelemetryHub, until: threading.Event) -> tuple[float, float]:
    """Publish a synthetic town until ``until`` is set.

    Returns ticks per second of process CPU time (the sink's threads included;
    other processes on a busy machine not) and the slowest single publish. The
    garbage collector is paused meanwhile: its pauses belong to the process.
    """
    town = SyntheticTown(n_agents=8, seed=21, churn=0.01)
    slowest = 0.0
    gc.disable()
    try:
        start = time.process_time()
        while not until.is_set():
            world = town.step()
            t0 = time.perf_counter()
            hub.publish_world(town.tick, world)
            slowest = max(slowest, time.perf_counter() - t0)
        rate = town.tick / (time.process_time() - start)
    finally:
        gc.enable()
    return rate, slowest


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def _after(seconds: float) -> threading.Event:
    done = threading.Event()
    threading.Timer(seconds, done.set).start()
    return done


def _kill_and_restart(
    receiver: Receiver, tmp_path: Path, attempt: int
) -> tuple[TelemetryHub, Path, Path, float, float]:
    """One run: start a receiver, kill it 0.4 s in, restart it 0.4 s later, run 0.5 s more."""
    params = TcpParams(
        port=receiver.port, backoff_initial_s=0.01, backoff_max_s=0.1, send_buffer_bytes=32768
    )
    config = TelemetryConfig(buffer_messages=1000, health_every=0, flush_timeout_s=10)
    first, second = tmp_path / f"first{attempt}.jsonl", tmp_path / f"second{attempt}.jsonl"
    receiver.start(first)
    done = threading.Event()

    def control() -> None:  # kill and restart the receiver while the town runs on
        time.sleep(0.4)
        receiver.kill()
        time.sleep(0.4)
        receiver.start(second)
        time.sleep(0.5)
        done.set()

    controller = threading.Thread(target=control)
    controller.start()
    hub = TelemetryHub([("tcp", TcpSink(params))], config)
    hub.start()
    rate, slowest = _drive(hub, done)
    controller.join(30)
    return hub, first, second, rate, slowest


def test_receiver_killed_and_restarted_mid_run(receiver: Receiver, tmp_path: Path) -> None:
    """The run never stalls, reconnects, and accounts for every message.

    Tick rates are compared in CPU time per process, and the best of three
    attempts counts: other work on a shared machine must not decide the test.
    """
    ratios = []
    for attempt in range(3):
        hub, first, second, rate, slowest = _kill_and_restart(receiver, tmp_path, attempt)
        final = json.loads(json.dumps(hub.snapshot))
        health = hub.stop().sinks[0]
        receiver.kill()
        null = TelemetryHub([("null", NullSink(NullParams()))], hub.config)
        null.start()
        null_rate, _ = _drive(null, _after(1.3))
        null.stop()
        ratios.append(rate / null_rate)
        if attempt == 0:
            _check_delivery(health, final, first, second, slowest)
        if ratios[-1] >= 0.9:
            break
    assert max(ratios) >= 0.9, f"tcp/null tick rate ratios: {[round(r, 2) for r in ratios]}"


def _check_delivery(
    health: SinkHealth, final: dict[str, Any], first: Path, second: Path, slowest: float
) -> None:
    assert slowest < 0.05  # no publish waited on the dead receiver
    # every message was delivered or counted as dropped (+1: the health report at stop)
    assert health.emitted == final["tick"] + 1
    assert health.delivered + health.dropped_messages == health.emitted
    assert health.dropped_messages > 0 and health.errors == 0
    assert health.detail["connections"] == 2
    # the receivers got what was delivered, give or take what was in flight when the
    # first one was killed: the socket buffers (32 KiB each way, doubled by Linux) and
    # one 64 KiB write; ~1 KiB a message
    got_first, got_second = _lines(first), _lines(second)
    received = len({json.dumps(p, sort_keys=True) for p in got_first + got_second})
    assert abs(health.delivered - received) <= 130
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
    assert time.monotonic() - start < 2
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
    thread.join(10)
    server.close()
    assert hub.stop().sinks[0].delivered == 21
    assert [json.loads(r)["payload_type"] for r in received] == ["metric"] * 20 + ["health"]
