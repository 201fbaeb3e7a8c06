"""Snapshot files: a whole world at one tick, saved atomically and checksummed.

A snapshot is a zip archive with three members:

``header.json``
    ``format`` (``townlet-snapshot``), ``schema_version``, ``config_id``,
    ``tick``, ``townlet_version``, ``observation`` (encoder variant and spec
    hash, when known), ``policy`` (name and hash), ``anneal_ratio``,
    ``affordances_checksum`` (of the manifest in force),
    ``counts`` (living agents, ties, active perturbations) and ``checksum``
    (sha256 of ``arrays.npz`` followed by ``state.json``).
``arrays.npz``
    every state array as ``section.key`` (``agents.needs``,
    ``agents.tie_trust``, ``economy.price``, ...).
``state.json``
    everything else, one mapping per section (``world``: tick, weather, agent
    ids, closures; ``lifecycle``, ``kpi``, ``social``, ``narrator``,
    ``perturbations``, ``economy``, ``rng``): counters, pending arrivals,
    active perturbations, the narrator's memory and the three RNG states.

The sections are the world's :meth:`~townlet.core.world.world.World.stateful`
parts (see :mod:`townlet.core.world.persist`).

Writes go to a temporary file in the target directory, are fsynced and then
renamed over the target, so a crash never leaves half a snapshot. Loading
verifies the archive, the checksum, the schema version and the config id
before touching the world; a failed load leaves the world unchanged.
Snapshots from older schema versions are upgraded by the registered
:data:`MIGRATIONS`, one version at a time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.errors import TownletError
from townlet.core.world.persist import StateMismatch, capture, restore

if TYPE_CHECKING:
    from townlet.core.world.world import World

__all__ = [
    "FORMAT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Snapshot",
    "SnapshotError",
    "load_snapshot",
    "read_snapshot",
    "save_snapshot",
]

FORMAT: Final = "townlet-snapshot"
SCHEMA_VERSION: Final = 3

Arrays = dict[str, npt.NDArray[Any]]
Migration = Callable[[dict[str, Any], Arrays, dict[str, Any]], None]
MIGRATIONS: dict[int, Migration] = {}
"""``MIGRATIONS[n]`` upgrades a version-``n`` snapshot in place to version ``n + 1``."""


def migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register a function upgrading snapshots from ``from_version`` to the next."""

    def register(func: Migration) -> Migration:
        MIGRATIONS[from_version] = func
        return func

    return register


@migration(from_version=1)
def _add_stall_until(header: dict[str, Any], arrays: Arrays, state: dict[str, Any]) -> None:
    """Version 2 added public arguments (``stall_until``), console possession and a
    console-adjustable collapse threshold (the SPEC default, 0.97)."""
    arrays["agents.stall_until"] = np.zeros_like(arrays["agents.spawned_at"])
    arrays["world.possessed"] = np.zeros_like(arrays["world.employable"])
    state["lifecycle"].setdefault("collapse_deficit", 0.97)


_V3_MOVED: Final = {
    **{f"relations.{k}": f"agents.tie_{k}" for k in ("other", "trust", "familiarity", "rivalry")},
    **{f"world.{k}": f"agents.{k}" for k in ("option_status", "forced", "employable", "possessed")},
    **{f"kpi.{k}": f"agents.{k}" for k in ("ok_ticks", "alive_ticks")},
    **{
        f"lifecycle.{k}": f"agents.{k.lstrip('_')}"
        for k in (
            "collapse_ticks",
            "neglect_ticks",
            "unpaid_days",
            "absent_streak",
            "jobless_days",
            "near_death",
            "_absent_seen",
            "_shifts_seen",
        )
    },
    "perturbations.last_targeted": "agents.last_targeted",
}
"""Arrays version 3 moved into the agent store: old name → new name."""
_V3_WORLD_KEYS: Final = (
    "tick",
    "weather",
    "serial",
    "agent_ids",
    "agent_names",
    "closures",
    "event_counts",
)


@migration(from_version=2)
def _one_agent_store(header: dict[str, Any], arrays: Arrays, state: dict[str, Any]) -> None:
    """Version 3 keeps every per-slot array in the agent store (``agents.*``), drops
        the unused ``agents.stage`` and ``agents.last_action``, and gives the world's own
        values a ``world`` section in ``state.json`` (the manifest checksum, static, moves
    to the header)."""
    for old, new in _V3_MOVED.items():
        if old in arrays:  # else the restore reports it missing
            arrays[new] = arrays.pop(old)
    for gone in ("agents.stage", "agents.last_action"):
        arrays.pop(gone, None)
    state["world"] = {key: state.pop(key) for key in _V3_WORLD_KEYS if key in state}
    header["affordances_checksum"] = state.pop("affordances_checksum", None)


class SnapshotError(TownletError):
    """A snapshot file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Snapshot:
    """A snapshot read from disk (already migrated to :data:`SCHEMA_VERSION`)."""

    path: Path
    header: dict[str, Any]
    arrays: Arrays
    state: dict[str, Any]


def _checksum(arrays_blob: bytes, state_blob: bytes) -> str:
    return hashlib.sha256(arrays_blob + state_blob).hexdigest()


def save_snapshot(
    world: World,
    path: Path,
    *,
    observation: dict[str, str] | None = None,
    policy: dict[str, str] | None = None,
    anneal_ratio: float | None = None,
) -> Path:
    """Write ``world`` to ``path`` atomically; returns the path."""
    from townlet.core import __version__

    arrays, state = capture(world)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    arrays_blob = buf.getvalue()
    state_blob = json.dumps(state, sort_keys=True).encode()
    header = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "config_id": world.config_id,
        "tick": world.tick,
        "townlet_version": __version__,
        "observation": observation or {},
        "policy": policy or {},
        "anneal_ratio": anneal_ratio,
        "affordances_checksum": world.affordances.checksum,
        "counts": {
            "agents": int(world.agents.alive.sum()),
            "slots": world.n_agents,
            "ties": int((world.agents.tie_other >= 0).sum()),
            "perturbations": len(world.perturbations.active),
        },
        "checksum": _checksum(arrays_blob, state_blob),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("header.json", json.dumps(header, indent=2, sort_keys=True))
            zf.writestr("arrays.npz", arrays_blob)
            zf.writestr("state.json", state_blob)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_snapshot(path: Path) -> Snapshot:
    """Read, verify and migrate a snapshot file (no world involved)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = {"header.json", "arrays.npz", "state.json"} - names
            if missing:
                raise SnapshotError(f"{path}: not a snapshot: missing {', '.join(sorted(missing))}")
            header_blob = zf.read("header.json")
            arrays_blob = zf.read("arrays.npz")
            state_blob = zf.read("state.json")
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such snapshot file") from None
    except (zipfile.BadZipFile, EOFError) as exc:
        raise SnapshotError(f"{path}: truncated or not a snapshot archive ({exc})") from exc
    except (zipfile.error, zlib.error) as exc:  # bad CRC, damaged compressed data
        raise SnapshotError(f"{path}: corrupted archive ({exc})") from exc
    try:
        header = json.loads(header_blob)
    except ValueError as exc:
        raise SnapshotError(f"{path}: header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise SnapshotError(f"{path}: not a {FORMAT} file")
    version = header.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise SnapshotError(
            f"{path}: snapshot schema version {version} is newer than this townlet reads "
            f"(up to {SCHEMA_VERSION}); upgrade townlet-core"
        )
    if _checksum(arrays_blob, state_blob) != header.get("checksum"):
        raise SnapshotError(f"{path}: checksum mismatch: the file is corrupted")
    try:
        with np.load(io.BytesIO(arrays_blob), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        state = json.loads(state_blob)
    except ValueError as exc:
        raise SnapshotError(f"{path}: unreadable contents ({exc})") from exc
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise SnapshotError(f"{path}: no migration from schema version {version}")
        MIGRATIONS[version](header, arrays, state)
        version += 1
        header["schema_version"] = version
    return Snapshot(path, header, arrays, state)


def load_snapshot(world: World, path: Path, *, migrate: bool = False) -> Snapshot:
    """Restore ``world`` from ``path``; on any refusal the world is unchanged.

    A snapshot taken under another ``config_id`` is refused unless
    ``migrate`` is true (and its arrays still fit this world).
    """
    snap = read_snapshot(path)
    theirs = snap.header.get("config_id")
    if theirs != world.config_id and not migrate:
        raise SnapshotError(
            f"{path}: snapshot was taken with config_id {theirs!r}, this run is "
            f"{world.config_id!r}; pass --migrate to load it anyway"
        )
    try:
        restore(world, snap.arrays, snap.state)
    except (StateMismatch, KeyError, TypeError) as exc:
        raise SnapshotError(f"{path}: does not fit this world: {exc}") from exc
    return snap
