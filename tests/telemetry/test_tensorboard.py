"""The tensorboard sink: training curves as scalars, written without torch."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("townlet.telemetry")
pytest.importorskip("tensorboardX")

from tensorboardX.proto import event_pb2

from townlet.core.config.models import TelemetryConfig
from townlet.core.telemetry import TelemetryHub
from townlet.telemetry.sinks.tensorboard import TensorboardParams, TensorboardSink, scalar_tag


def _scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the event files (TFRecord framing: length, crc, data, crc)."""
    out: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos : pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12 : pos + 12 + length])
            pos += 12 + length + 4
            for value in event.summary.value:
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def test_training_epochs_and_metrics_become_scalars(tmp_path: Path, make_record) -> None:
    sink = TensorboardSink(TensorboardParams(logdir=str(tmp_path)))
    with TelemetryHub([("tb", sink)], TelemetryConfig(health_every=0)) as hub:
        for epoch in range(1, 4):
            hub.publish_training_epoch(make_record("1.2", epoch=epoch, approx_kl=0.01 * epoch))
        hub.publish_metrics(1000, {"self_sufficiency": 0.75}, scope="day")
    scalars = _scalars(tmp_path)
    assert [step for step, _ in scalars["losses/approx_kl"]] == [1, 2, 3]
    assert scalars["losses/approx_kl"][2][1] == pytest.approx(0.03)
    assert scalars["rollout/queue_conflict_events"] == [(1, 3.0), (2, 3.0), (3, 3.0)]
    assert scalars["anneal/ratio"][0] == (1, pytest.approx(0.8))
    assert scalars["day/self_sufficiency"] == [(1000, 0.75)]
    assert scalars["telemetry/dropped_messages"] == [(1000, 0.0)]
    assert "training/anneal_stage" not in scalars  # text is not a scalar


def test_tags_follow_cleanrl_groups() -> None:
    assert scalar_tag("loss_value") == "losses/value_loss"
    assert scalar_tag("steps_per_sec") == "charts/SPS"
    assert scalar_tag("episodic_return") == "charts/episodic_return"
    assert scalar_tag("queue_conflict_intensity_sum") == "rollout/queue_conflict_intensity_sum"
    assert scalar_tag("epoch_seconds") == "training/epoch_seconds"


def test_the_sink_needs_no_torch(tmp_path: Path) -> None:
    params = {"logdir": str(tmp_path)}
    # tensorboardX uses torch when it happens to be installed; make it unimportable
    # to prove the sink works without it.
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "from townlet.core.ports import TelemetryEvent\n"
        "from townlet.core.registry import Registry\n"
        f"sink = Registry().build('telemetry_sinks', 'tensorboard', {params!r})\n"
        "sink.start()\n"
        "sink.emit(TelemetryEvent('metric', 5, {'payload_type': 'metric', 'tick': 5,"
        " 'scope': 'day', 'metrics': {'self_sufficiency': 0.9}}))\n"
        "sink.stop()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert any(tmp_path.rglob("events.out.tfevents.*"))
