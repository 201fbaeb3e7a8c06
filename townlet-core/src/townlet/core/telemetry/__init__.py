"""Telemetry plumbing in core: the hub, the observer stream protocol, privacy, core sinks.

Transport-agnostic and torch-free. Transports (``jsonl``, ``tcp``,
``websocket``, ...), payload schemas and log tools live in townlet-telemetry.
The ``telemetry`` config section is :mod:`townlet.core.telemetry.config`
(import it from there; this package does not import the config models).
"""

from townlet.core.telemetry.diff import (
    DiffError,
    SnapshotTracker,
    apply_changes,
    apply_diff,
    diff_changes,
    make_diff,
)
from townlet.core.telemetry.health import HubHealth, PartialDelivery, SinkHealth, TransportHealth
from townlet.core.telemetry.hub import TelemetryHub
from townlet.core.telemetry.payloads import (
    PAYLOAD_TYPES,
    SCHEMA_VERSION,
    SUPPORTED_SCHEMA_VERSIONS,
    Payload,
    encode_event,
    encode_json,
    encode_payload,
    make_payload,
)
from townlet.core.telemetry.privacy import Anonymizer
from townlet.core.telemetry.world_source import HubWorldSource, TrackingWorldSource, WorldSource

__all__ = [
    "PAYLOAD_TYPES",
    "SCHEMA_VERSION",
    "SUPPORTED_SCHEMA_VERSIONS",
    "Anonymizer",
    "DiffError",
    "HubHealth",
    "HubWorldSource",
    "PartialDelivery",
    "Payload",
    "SinkHealth",
    "SnapshotTracker",
    "TelemetryHub",
    "TrackingWorldSource",
    "TransportHealth",
    "WorldSource",
    "apply_changes",
    "apply_diff",
    "diff_changes",
    "encode_event",
    "encode_json",
    "encode_payload",
    "make_diff",
    "make_payload",
]
