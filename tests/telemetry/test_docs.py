"""docs/telemetry.md names every sink parameter, config key and training-log field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("townlet.telemetry")

from pydantic import BaseModel

from townlet.core.config.models import TelemetryConfig
from townlet.core.registry import Registry
from townlet.core.training.records import TRAINING_VERSIONS, model_for_version

DOC = (Path(__file__).resolve().parents[2] / "docs" / "telemetry.md").read_text()


def _section(title: str) -> str:
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", DOC, re.M | re.S)
    assert match, f"docs/telemetry.md has no section {title!r}"
    return match.group(1)


def _documented(model: type[BaseModel], text: str) -> list[str]:
    return [name for name in model.model_fields if f"| `{name}` |" not in text]


@pytest.mark.parametrize("sink", ["stdout", "jsonl", "tcp", "websocket", "tensorboard"])
def test_every_sink_param_is_documented(sink: str) -> None:
    params = Registry().params_model("telemetry_sinks", sink)
    assert _documented(params, _section(f"`{sink}`")) == []


def test_every_config_key_and_training_field_is_documented() -> None:
    assert _documented(TelemetryConfig, _section("The `telemetry` config section")) == []
    fields = _section("Training logs")
    for version in TRAINING_VERSIONS:
        assert _documented(model_for_version(version), fields) == []
