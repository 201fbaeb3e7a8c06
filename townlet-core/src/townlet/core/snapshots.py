"""Snapshot files: a whole world at one tick, saved atomically and checksummed.

A snapshot is a zip archive with three members:

``header.json``
    ``format`` (``townlet-snapshot``), ``schema_version``, ``config_id``,
    ``tick``, ``townlet_version``, ``observation`` (encoder variant and spec
    hash, when known), ``policy`` (name and hash), ``anneal_ratio``,
    ``affordances_checksum`` (of the manifest in force),
    ``counts`` (living agents, ties, active perturbations) and ``checksum``
    (sha256 of ``arrays.npz``, ``state.json`` and, from schema version 3, the
    header itself without its ``checksum``, as sorted compact JSON).
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
verifies the archive, member sizes against the header, the checksum, the
schema version, the config id and the affordance manifest's checksum, then
every name, shape, dtype, index and value range before touching the world; a
failed load leaves the world unchanged.
Snapshots from older schema versions are upgraded by the registered
:data:`MIGRATIONS`, one version at a time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import tempfile
import time
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
    if "agents.stall_until" in arrays or "world.possessed" in arrays:
        raise SnapshotError("header says schema version 1 but the contents are newer")
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
    if "agents.tie_other" in arrays or "world" in state:
        raise SnapshotError("header says schema version 2 but the contents are newer")
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


def _checksum(arrays_blob: bytes, state_blob: bytes, header: dict[str, Any] | None = None) -> str:
    """sha256 of the body and, when given, the header without its ``checksum``."""
    h = hashlib.sha256(arrays_blob + state_blob)
    if header is not None:
        rest = {k: v for k, v in header.items() if k != "checksum"}
        h.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


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
        "sizes": {"arrays.npz": len(arrays_blob), "state.json": len(state_blob)},
    }
    header["checksum"] = _checksum(arrays_blob, state_blob, header)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_temps(path)
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
    _fsync_dir(path.parent)
    return path


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (the new name survives a power cut)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_STALE_AFTER_S: Final = 600.0
"""Age after which a temporary file of ours is left over from a killed write."""


_TEMP_NAME: Final = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
"""Our temporary files: ``.<target name>.<8 random characters>.tmp`` (``tempfile.mkstemp``)."""


def _clean_stale_temps(path: Path) -> None:
    """Remove temporary files of our naming beside ``path`` older than :data:`_STALE_AFTER_S`.

    Those of every target in the directory go (each periodic snapshot has its
    own name, so a killed write is never retried under the same one); younger
    ones may belong to a write in progress elsewhere and are kept.
    """
    now = time.time()
    for tmp in path.parent.glob(".*.tmp"):
        if not _TEMP_NAME.fullmatch(tmp.name):
            continue
        try:
            if tmp.is_file() and now - tmp.stat().st_mtime > _STALE_AFTER_S:
                tmp.unlink()
        except OSError:  # gone meanwhile, or not ours to remove
            continue


_MEMBERS: Final = ("header.json", "arrays.npz", "state.json")
_HEADER_LIMIT: Final = 1 << 20
"""Most bytes a header may hold."""
_BODY_LIMIT: Final = 1 << 30
"""Most bytes a header may declare for a body member."""
_LEGACY_BODY_LIMIT: Final = 1 << 28
"""Most bytes a body member may hold in a version-1 or -2 file (no declared sizes)."""


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's bytes, refusing (without inflating further) one over ``limit``."""
    with zf.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise SnapshotError(f"member {name} is larger than the {limit} bytes allowed")
    return data


def _json(blob: bytes, what: str) -> Any:
    try:
        return json.loads(blob)
    except (ValueError, RecursionError) as exc:
        raise SnapshotError(f"{what} is not valid JSON ({type(exc).__name__})") from None


def _check_header(header: dict[str, Any]) -> None:
    """Refuse a header whose fields have the wrong kinds (values, not just presence)."""
    version = header.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SnapshotError(f"schema_version {version!r} is not a version number (an integer >= 1)")
    if version > SCHEMA_VERSION:
        raise SnapshotError(
            f"snapshot schema version {version} is newer than this townlet reads "
            f"(up to {SCHEMA_VERSION}); upgrade townlet-core"
        )
    tick = header.get("tick")
    if not isinstance(tick, int) or isinstance(tick, bool) or tick < 0:
        raise SnapshotError(f"header tick {tick!r} is not a tick (an integer >= 0)")
    for key in ("config_id", "checksum"):
        if not isinstance(header.get(key), str):
            raise SnapshotError(f"header {key} is missing or not a string")
    sizes = header.get("sizes")
    if version >= 3 or sizes is not None:
        members = ("arrays.npz", "state.json")
        if not isinstance(sizes, dict) or not all(
            type(sizes.get(m)) is int and 0 <= sizes[m] <= _BODY_LIMIT for m in members
        ):
            raise SnapshotError(
                f"header sizes {sizes!r} must give the bytes of arrays.npz and state.json "
                f"(integers 0..{_BODY_LIMIT})"
            )
    for key in ("observation", "policy", "counts"):
        value = header.get(key, {})
        if value is None:
            continue
        if not isinstance(value, dict) or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in value.values()
        ):
            raise SnapshotError(f"header {key} is not a mapping of plain values")


def read_snapshot(path: Path) -> Snapshot:
    """Read, verify and migrate a snapshot file (no world involved).

    Every failure is a :class:`SnapshotError` naming ``path`` and the reason.
    """
    path = Path(path)
    try:
        return _read(path)
    except SnapshotError as exc:
        raise SnapshotError(f"{path}: {exc}") from None


def _check_stored(arrays_blob: bytes) -> None:
    """Refuse an ``arrays.npz`` whose members are compressed.

    ``np.savez`` stores arrays uncompressed, so an array never holds more
    bytes than the member the header declared; a compressed member could
    inflate far beyond it (an archive bomb inside the archive).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(arrays_blob)) as npz:
            infos = npz.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise SnapshotError(f"unreadable arrays ({type(exc).__name__}: {exc})") from None
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(arrays_blob):
            raise SnapshotError(
                f"array {info.filename} in arrays.npz is compressed; snapshots store arrays "
                "uncompressed"
            )


def _open_regular(path: Path) -> io.BufferedReader:
    """Open ``path`` for reading if it is a regular file; a FIFO or device never blocks."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise SnapshotError("no such snapshot file") from None
    except OSError as exc:
        raise SnapshotError(f"cannot open ({exc.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SnapshotError("not a regular file")
    return os.fdopen(fd, "rb")


def _read(path: Path) -> Snapshot:
    try:
        with _open_regular(path) as raw, zipfile.ZipFile(raw) as zf:
            missing = set(_MEMBERS) - set(zf.namelist())
            if missing:
                raise SnapshotError(f"not a snapshot: missing {', '.join(sorted(missing))}")
            header = _json(_read_member(zf, "header.json", _HEADER_LIMIT), "header")
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise SnapshotError(f"not a {FORMAT} file")
            _check_header(header)
            sizes = header.get("sizes") or {}
            arrays_limit = sizes.get("arrays.npz", _LEGACY_BODY_LIMIT)
            arrays_blob = _read_member(zf, "arrays.npz", arrays_limit)
            state_blob = _read_member(zf, "state.json", sizes.get("state.json", _LEGACY_BODY_LIMIT))
    except (zipfile.BadZipFile, EOFError) as exc:
        raise SnapshotError(f"truncated or not a snapshot archive ({exc})") from exc
    except (zipfile.error, zlib.error, OSError, NotImplementedError, ValueError) as exc:
        raise SnapshotError(f"corrupted archive ({type(exc).__name__}: {exc})") from exc
    version = header["schema_version"]
    covered = header if version >= 3 else None
    if _checksum(arrays_blob, state_blob, covered) != header["checksum"]:
        raise SnapshotError("checksum mismatch: the file is corrupted")
    _check_stored(arrays_blob)
    try:
        with np.load(io.BytesIO(arrays_blob), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as exc:  # numpy raises many kinds for a damaged archive
        raise SnapshotError(f"unreadable arrays ({type(exc).__name__}: {exc})") from exc
    for name, arr in arrays.items():
        if arr.dtype.kind not in "biuf":
            raise SnapshotError(f"array {name} has dtype {arr.dtype}, not numbers")
    state = _json(state_blob, "state.json")
    if not isinstance(state, dict):
        raise SnapshotError("state.json is not a mapping")
    while version < SCHEMA_VERSION:
        try:
            MIGRATIONS[version](header, arrays, state)
        except (KeyError, TypeError, AttributeError) as exc:
            raise SnapshotError(f"cannot upgrade from schema version {version} ({exc!r})") from exc
        version += 1
        header["schema_version"] = version
    if not all(isinstance(v, dict) for v in state.values()):
        raise SnapshotError("state.json is not a mapping of sections")
    return Snapshot(path, header, arrays, state)


def load_snapshot(world: World, path: Path, *, migrate: bool = False) -> Snapshot:
    """Restore ``world`` from ``path``; on any refusal the world is unchanged.

    A snapshot taken under another ``config_id`` or affordance manifest is
    refused unless ``migrate`` is true (and its arrays still fit this world).
    """
    snap = read_snapshot(path)
    theirs = snap.header.get("config_id")
    if theirs != world.config_id and not migrate:
        raise SnapshotError(
            f"{path}: snapshot was taken with config_id {theirs!r}, this run is "
            f"{world.config_id!r}; pass --migrate to load it anyway"
        )
    manifest = snap.header.get("affordances_checksum")
    if manifest is not None and manifest != world.affordances.checksum and not migrate:
        raise SnapshotError(
            f"{path}: snapshot was taken with affordance manifest checksum {manifest!r}, "
            f"this run's is {world.affordances.checksum!r}; pass --migrate to load it anyway"
        )
    try:
        restore(world, snap.arrays, snap.state)
    except (StateMismatch, KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"{path}: does not fit this world: {exc}") from exc
    return snap
