"""Payload envelope, payload types and the one JSON encoding every sink shares.

Every payload is a JSON object carrying ``schema_version``, ``payload_type``
and ``tick``. The hub builds payloads as :class:`Payload` (a ``dict``) and
encodes each once; sinks call :func:`encode_event` to get those bytes instead
of encoding again. Payloads handed to sinks are shared between sinks and must
be treated as read-only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

from townlet.core.ports import TelemetryEvent

__all__ = [
    "PAYLOAD_TYPES",
    "SCHEMA_VERSION",
    "SUPPORTED_SCHEMA_VERSIONS",
    "WORLD_TYPES",
    "Payload",
    "encode_event",
    "encode_json",
    "encode_payload",
    "make_payload",
]

SCHEMA_VERSION: Final = "1.0"
"""Version of the observer payloads this core emits."""

SUPPORTED_SCHEMA_VERSIONS: Final = frozenset({"1.0"})
"""Payload schema versions readers of this core understand."""

PAYLOAD_TYPES: Final = (
    "world_snapshot",
    "world_diff",
    "metric",
    "narration",
    "training_epoch",
    "health",
    "stability",
)
"""Every ``payload_type`` (equal to the :class:`TelemetryEvent` ``kind``)."""

WORLD_TYPES: Final = frozenset({"world_snapshot", "world_diff"})


class Payload(dict[str, Any]):
    """A payload dict that remembers its JSON encoding.

    Built by the hub; encoded at most once however many sinks write it. World
    payloads also carry ``seq`` (not part of the JSON): the hub's count of
    published worlds, so that sinks can order a world they got out of band.
    """

    __slots__ = ("_encoded", "seq")

    seq: int

    def encoded(self) -> bytes:
        """The compact UTF-8 JSON of this payload (no trailing newline)."""
        try:
            return self._encoded
        except AttributeError:
            self._encoded: bytes = encode_json(self)
            return self._encoded


def make_payload(payload_type: str, tick: int, body: Mapping[str, Any]) -> Payload:
    """Wrap ``body`` in the envelope: ``schema_version``, ``payload_type``, ``tick``."""
    payload = Payload(schema_version=SCHEMA_VERSION, payload_type=payload_type, tick=tick)
    payload.update(body)
    return payload


def encode_json(obj: Any) -> bytes:
    """Compact strict JSON (UTF-8). NaN and infinities, which JSON lacks, become null."""
    try:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(obj), separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The JSON bytes of a payload, reusing the hub's encoding when it has one."""
    if type(payload) is Payload:
        return payload.encoded()
    return encode_json(payload)


def encode_event(event: TelemetryEvent) -> bytes:
    """The JSON bytes of an event's payload (see :func:`encode_payload`)."""
    return encode_payload(event.payload)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
