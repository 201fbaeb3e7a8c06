"""A real town streams valid payloads through real sinks (the schema hook checks each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import default_config
from townlet.core.registry import Registry
from townlet.core.sim import Simulation

pytest.importorskip("townlet.telemetry")


@pytest.mark.parametrize("privacy", [False, True])
def test_simulation_stream_validates_and_replays(tmp_path: Path, cli, privacy: bool) -> None:
    log = tmp_path / "run.jsonl"
    config = default_config(
        "features.stages.relationships=C",
        "features.lifecycle=true",
        "world.perturbations.enabled=true",
        "world.perturbations.blackout.probability_per_day=4",
        f"telemetry.sinks=[{{name: jsonl, params: {{path: '{log}'}}}}]",
        f"telemetry.privacy={str(privacy).lower()}",
    )
    summary = Simulation(config, Registry()).run(1200)
    assert summary.health and "dropped" in summary.health[0]
    checked = cli("telemetry", "validate", str(log))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = log.read_text()
    assert '"payload_type": "world_snapshot"' in text or '"payload_type":"world_snapshot"' in text
    if privacy:
        assert "agent_000" not in text and "Ada" not in text
    else:
        assert "agent_000" in text
