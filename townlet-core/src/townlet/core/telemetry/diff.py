"""The observer stream protocol: keyed diffs between world snapshots.

A stream starts with a ``world_snapshot`` payload (the whole world); later
``world_diff`` payloads say what changed since the previous world message::

    {"schema_version": "1.0", "payload_type": "world_diff", "tick": 12,
     "base_tick": 11, "changes": CHANGES}

``CHANGES`` is keyed the same way as the snapshot it applies to::

    {"set":   {key: new value, ...},     # added keys and replaced values
     "del":   [key, ...],                # removed keys
     "patch": {key: CHANGES, ...}}       # nested objects changed in part

Each part is left out when empty. Objects (agents, objects, economy, needs,
...) are diffed key by key, so one agent moving one tile gives a diff of
about ``{"patch": {"agents": {"patch": {"a3": {"set": {"x": 7}}}}}}``. Lists
(queues, events, narration, ties) are replaced whole. A value under a key
changes when it differs, with no tolerance for floats, or changes type (``1``
to ``1.0``, ``0.0`` to ``-0.0``, ``true`` to ``1``); an object or list equal
to its predecessor as a Python value is unchanged (JSON numbers ``1`` and
``1.0`` inside it are the same number).

:func:`apply_diff` rebuilds the next snapshot; for every diff in a stream
``apply_diff(previous_snapshot, diff)`` equals (``==``) the full snapshot the
producer held at that tick. A consumer in JavaScript needs ten lines::

    function apply(base, ch) {
      const out = {...base};
      for (const k of ch.del ?? []) delete out[k];
      Object.assign(out, ch.set ?? {});
      for (const [k, sub] of Object.entries(ch.patch ?? {})) out[k] = apply(out[k], sub);
      return out;
    }
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from townlet.core.telemetry.payloads import SCHEMA_VERSION, Payload

__all__ = [
    "DiffError",
    "SnapshotTracker",
    "apply_changes",
    "apply_diff",
    "diff_changes",
    "make_diff",
]


class DiffError(ValueError):
    """A diff does not apply to the snapshot it was given."""


_PLAIN = frozenset({str, int, bool, type(None)})
"""Scalar types for which ``==`` between equal types is exact."""


def _same_float(a: float, b: float) -> bool:
    return a == b and (a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b))


def diff_changes(prev: Mapping[str, Any], curr: Mapping[str, Any]) -> dict[str, Any]:
    """The ``CHANGES`` object that turns ``prev`` into ``curr`` (empty if equal)."""
    set_: dict[str, Any] = {}
    patch: dict[str, Any] = {}
    added = 0
    for key, value in curr.items():
        if key not in prev:
            set_[key] = value
            added += 1
            continue
        old = prev[key]
        if old is value:
            continue
        kind = type(value)
        if kind is not type(old):
            set_[key] = value
        elif kind is dict:
            if old != value:  # equal objects (most of them, most ticks) cost one C compare
                sub = diff_changes(old, value)
                if sub:
                    patch[key] = sub
        elif kind is float:
            if not _same_float(old, value):
                set_[key] = value
        elif old != value:
            set_[key] = value
    out: dict[str, Any] = {}
    if set_:
        out["set"] = set_
    if len(curr) - added != len(prev):  # some keys of prev are gone
        out["del"] = [key for key in prev if key not in curr]
    if patch:
        out["patch"] = patch
    return out


def apply_changes(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``changes`` applied; ``base`` is not modified.

    Unchanged nested objects are shared with ``base`` rather than copied.
    Raises :class:`DiffError` when ``changes`` does not fit ``base``.
    """
    return _apply(base, changes, "")


def _apply(base: Mapping[str, Any], changes: Mapping[str, Any], path: str) -> dict[str, Any]:
    out = dict(base)
    for key in changes.get("del", ()):
        if out.pop(key, _MISSING) is _MISSING:
            raise DiffError(f"cannot delete {path}{key}: no such key")
    out.update(changes.get("set", {}))
    for key, sub in changes.get("patch", {}).items():
        inner = out.get(key)
        if not isinstance(inner, Mapping):
            raise DiffError(f"cannot patch {path}{key}: not an object in the base snapshot")
        out[key] = _apply(inner, sub, f"{path}{key}.")
    return out


_MISSING = object()


def make_diff(prev: Mapping[str, Any], curr: Mapping[str, Any]) -> Payload:
    """The ``world_diff`` payload from snapshot payload ``prev`` to ``curr``."""
    return Payload(
        schema_version=SCHEMA_VERSION,
        payload_type="world_diff",
        tick=curr["tick"],
        base_tick=prev["tick"],
        changes=diff_changes(prev, curr),
    )


def apply_diff(snapshot: Mapping[str, Any], diff: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a ``world_diff`` payload to the ``world_snapshot`` payload it follows.

    Returns the next ``world_snapshot`` payload (a new dict; ``snapshot`` is
    not modified). Raises :class:`DiffError` if ``diff`` is not a world diff
    or its ``base_tick`` is not the snapshot's tick.
    """
    if diff.get("payload_type") != "world_diff":
        raise DiffError(f"not a world_diff payload: {diff.get('payload_type')!r}")
    if snapshot.get("payload_type") != "world_snapshot":
        raise DiffError(f"not a world_snapshot payload: {snapshot.get('payload_type')!r}")
    if diff.get("base_tick") != snapshot.get("tick"):
        raise DiffError(
            f"diff for tick {diff.get('tick')} applies to tick {diff.get('base_tick')}, "
            f"but the snapshot is at tick {snapshot.get('tick')}"
        )
    return apply_changes(snapshot, diff.get("changes", {}))


class SnapshotTracker:
    """Follows a stream of world payloads and knows the full world at each point.

    For consumers of a stream (and sinks used without a hub, through
    :class:`~townlet.core.telemetry.world_source.TrackingWorldSource`). It
    applies diffs in place to a private copy, so following a stream costs
    about as much as the diffs are big, not as the world is.
    """

    def __init__(self) -> None:
        self._state: dict[str, Any] | None = None

    @property
    def snapshot(self) -> dict[str, Any] | None:
        """The current ``world_snapshot`` payload, or None before one (or after a gap).

        The tracker's own copy: read or encode it now, do not keep or change it;
        it changes with the next :meth:`observe`.
        """
        return self._state

    def observe(self, payload: Mapping[str, Any]) -> None:
        """Advance past one payload; non-world payloads are ignored.

        A diff that does not follow the current state (a gap) forgets the
        state until the next full snapshot.
        """
        kind = payload.get("payload_type")
        if kind == "world_snapshot":
            self._state = _own(payload)
        elif kind == "world_diff":
            state = self._state
            if state is None or payload.get("base_tick") != state.get("tick"):
                self._state = None
                return
            try:
                _apply_in_place(state, payload.get("changes", {}))
            except (KeyError, TypeError):
                self._state = None


def _own(value: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of every dict inside ``value``; lists are replaced whole, never patched."""
    return {k: _own(v) if type(v) is dict else v for k, v in value.items()}


def _apply_in_place(state: dict[str, Any], changes: Mapping[str, Any]) -> None:
    removed = changes.get("del")
    if removed:
        for key in removed:
            del state[key]
    replaced = changes.get("set")
    if replaced:
        for key, value in replaced.items():
            state[key] = _own(value) if type(value) is dict else value
    patch = changes.get("patch")
    if patch:
        for key, sub in patch.items():
            _apply_in_place(state[key], sub)
