"""How much memory a queued payload holds: its JSON bytes and its Python objects.

A payload waiting in a sink's buffer keeps both its encoded JSON and the dicts,
lists, strings and numbers it was built from; the objects take about ten times
the JSON's size. Walking every payload to add them up would cost the tick loop
more than publishing does, so :class:`HeldSize` walks one payload of each type
in :data:`SAMPLE_EVERY` and scales the JSON size of the others by the ratio it
measured.
"""

from __future__ import annotations

import sys
from typing import Any

from townlet.core.telemetry.payloads import Payload

__all__ = ["ITEM_OVERHEAD", "SAMPLE_EVERY", "HeldSize", "deep_size"]

SAMPLE_EVERY = 64
"""Walk one payload of each type in this many; the rest use the last measured ratio."""
ITEM_OVERHEAD = 200
"""Bytes per queued message beyond the payload (its event tuple and queue slot)."""


def deep_size(obj: Any) -> int:
    """Bytes held by ``obj`` and every dict, list, tuple, key and value inside it (each
    object counted once), as ``sys.getsizeof`` reports them."""
    seen: set[int] = set()
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total


class HeldSize:
    """Estimates the memory each payload holds while queued (see the module docstring)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._ratio: dict[str, float] = {}
        """Per payload type: object bytes per JSON byte, last measured."""

    def of(self, payload: Payload) -> int:
        """Estimated bytes ``payload`` holds: JSON, objects and queue overhead."""
        encoded = payload.encoded()
        kind = str(payload.get("payload_type"))
        seen = self._seen.get(kind, 0)
        self._seen[kind] = seen + 1
        if seen % SAMPLE_EVERY == 0:
            self._ratio[kind] = deep_size(payload) / max(1, len(encoded))
        objects = int(len(encoded) * self._ratio[kind])
        return sys.getsizeof(encoded) + objects + ITEM_OVERHEAD
