"""Payload and training-record schemas: generated, shipped, published, and enforced."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("townlet.telemetry")

from tools.synthetic_town import SyntheticTown, vocabulary
from townlet.core.config.models import TelemetryConfig
from townlet.core.telemetry import TelemetryHub
from townlet.core.telemetry.health import SinkHealth
from townlet.telemetry.payloads import Agent, Job, SinkHealthModel
from townlet.telemetry.schema import (
    SCHEMA_MODELS,
    check_schemas,
    jsonschema_problems,
    payload_problems,
    shipped_schema_dir,
    training_problems,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "directory",
    [shipped_schema_dir(), REPO / "docs" / "telemetry" / "schemas"],
    ids=["package", "docs"],
)
def test_schema_files_match_the_models(directory: Path) -> None:
    assert check_schemas(directory) == [], "run: townlet telemetry schemas --out " + str(directory)
    assert len(list(directory.glob("*.schema.json"))) == len(SCHEMA_MODELS) == 10


def test_agent_fields_name_the_values_the_town_emits() -> None:
    vocab = vocabulary()
    option = Agent.model_fields["option"].description or ""
    state = Job.model_fields["state"].description or ""
    assert all(name in option for name in vocab.options), option
    assert all(name in state for name in vocab.shift_states), state


def test_health_model_follows_the_core_dataclass() -> None:
    fields = [f.name for f in dataclasses.fields(SinkHealth)]
    assert list(SinkHealthModel.model_fields) == fields


def _stream(recording_sink: Any, make_record: Any, privacy: bool) -> list[dict[str, Any]]:
    sink = recording_sink()
    town = SyntheticTown(n_agents=8, seed=7, churn=0.02)
    config = TelemetryConfig(privacy=privacy, health_every=50)
    with TelemetryHub([("rec", sink)], config) as hub:
        for _ in range(120):
            world = town.step()
            hub.publish_world(town.tick, world)
            if town.tick % 40 == 0:
                hub.publish_metrics(town.tick, world["kpis"], scope="day")
                hub.publish_narration(
                    town.tick,
                    [{"category": "new_arrival", "text": "hi", "agents": list(world["agents"])}],
                )
        for version in ("1.0", "1.1", "1.2"):
            hub.publish_training_epoch(make_record(version, epoch=int(version[-1]) + 1))
    return sink.decoded()


@pytest.mark.parametrize("privacy", [False, True])
def test_every_emitted_payload_validates(recording_sink, make_record, privacy: bool) -> None:
    payloads = _stream(recording_sink, make_record, privacy)
    kinds = {p["payload_type"] for p in payloads}
    assert kinds == {
        "world_snapshot",
        "world_diff",
        "metric",
        "narration",
        "training_epoch",
        "health",
    }
    for payload in payloads:  # as received, through JSON, by both validators
        assert jsonschema_problems(payload["payload_type"], payload) == []
        assert payload_problems(payload) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda p: p["agents"]["agent_000"]["needs"].update(hunger=1.5),
            "agents.agent_000.needs.hunger",
        ),
        (lambda p: p.update(weather="foggy"), "weather"),
        (lambda p: p["agents"]["agent_000"].update(mood="happy"), "agents.agent_000"),
        (lambda p: p["events"].append({"kind": "x", "agent": None, "deep": {}}), "events.0"),
        (lambda p: p.pop("kpis"), "kpis"),
    ],
    ids=["need-out-of-range", "unknown-weather", "unknown-field", "nested-event-field", "missing"],
)
def test_invalid_snapshots_are_refused_by_both_validators(mutate: Any, expected: str) -> None:
    sink_payload = {"schema_version": "1.0", "payload_type": "world_snapshot"}
    payload = json.loads(json.dumps(sink_payload | SyntheticTown(seed=1).step()))
    assert payload_problems(payload) == []
    mutate(payload)
    assert any(expected in p for p in jsonschema_problems("world_snapshot", payload))
    assert any(expected in p for p in payload_problems(payload))


def test_payload_envelope_checks() -> None:
    assert payload_problems({"payload_type": "gossip"})[0].startswith("unknown payload_type")
    old = {
        "payload_type": "metric",
        "schema_version": "0.9",
        "tick": 1,
        "scope": "t",
        "metrics": {},
    }
    assert "unsupported schema_version '0.9'" in payload_problems(old)[0]
    nan = {**old, "schema_version": "1.0", "metrics": {"x": float("nan")}}
    assert payload_problems(nan) == ["metric: metrics.x: NaN/Infinity is not valid JSON"]


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_training_records_of_each_version(make_record, version: str) -> None:
    record = make_record(version)
    assert training_problems(record) == []
    assert jsonschema_problems(f"training_record_{version}", record) == []


def test_training_versions_are_strict(make_record) -> None:
    newer_field = make_record("1.0") | {"queue_conflict_events": 2}
    assert "queue_conflict_events" in training_problems(newer_field)[0]
    missing = make_record("1.1")
    del missing["queue_conflict_intensity_sum"]
    assert "queue_conflict_intensity_sum" in training_problems(missing)[0]
    assert training_problems(make_record("1.2") | {"anneal_ratio": 1.5})
    assert training_problems({"telemetry_version": "2.0"}) == [
        "unknown telemetry_version '2.0' (known: 1.0, 1.1, 1.2)"
    ]
