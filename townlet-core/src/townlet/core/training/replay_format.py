"""Replay samples on disk: ``NAME.npz`` arrays, a ``NAME.json`` sidecar, a manifest.

A sample holds ``N`` transitions (agent-steps), one row each, in step order
within every agent row. Its arrays (see docs/training.md):

- ``obs.<component>``: ``[N, *shape]`` of the encoder spec's component dtype;
- ``actions`` ``[N]`` int64; ``masks`` ``[N, len(options)]`` bool;
- ``rewards`` ``[N]`` float32; ``terminated``, ``truncated``, ``acted``,
  ``possessed`` ``[N]`` bool;
- optional: ``values``, ``logprobs`` ``[N]`` float32 (when the policy gives
  them) and ids ``episode``, ``town``, ``row``, ``tick`` ``[N]`` int64.

The sidecar (a :class:`~townlet.core.training.replay_meta.Sidecar`) is
written last, so a sample without one is incomplete and never read. Both
files are written through a temporary file and ``os.replace``. Every check
here raises :class:`ReplayError` naming the file and the field, and reads no
array data unless asked to load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ValidationError

from townlet.core.training import _npz
from townlet.core.training.replay_meta import (
    MANIFEST_NAME,
    OPTIONAL_ARRAYS,
    REPLAY_SCHEMA_VERSION,
    REQUIRED_ARRAYS,
    ArrayInfo,
    Manifest,
    ManifestEntry,
    ReplayError,
    Sample,
    SampleCounts,
    SampleMeta,
    Sidecar,
)

__all__ = [
    "append_to_manifest",
    "check_sample",
    "expected_arrays",
    "layout_problems",
    "load_sample",
    "manifest_samples",
    "read_manifest",
    "read_sidecar",
    "sample_files",
    "write_sample",
]


# -- checks ------------------------------------------------------------------


def sample_files(path: Path) -> tuple[Path, Path]:
    """``(NAME.npz, NAME.json)`` of a sample given either file or the bare name."""
    base = path.with_suffix("") if path.suffix in (".npz", ".json") else path
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def expected_arrays(meta: SampleMeta) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Required array name → (dtype, per-transition shape) for ``meta``."""
    out = {f"obs.{c.name}": (c.dtype, c.shape) for c in meta.spec.components}
    out.update({name: (dtype, ()) for name, dtype in REQUIRED_ARRAYS.items()})
    out["masks"] = ("bool", (len(meta.options),))
    return out


def layout_problems(
    layout: Mapping[str, tuple[tuple[int, ...], str]], meta: SampleMeta
) -> list[str]:
    """Every way arrays of name → (shape, dtype) break the format for ``meta``."""
    problems: list[str] = []
    want = expected_arrays(meta)
    missing = sorted(set(want) - set(layout))
    unknown = sorted(set(layout) - set(want) - set(OPTIONAL_ARRAYS))
    problems += [f"{name}: missing" for name in missing]
    problems += [f"{name}: not an array of the format" for name in unknown]
    lengths = {shape[0] if shape else None for shape, _ in layout.values()}
    if len(lengths) > 1 or None in lengths:
        sizes = ", ".join(f"{n} {s[0] if s else '()'}" for n, (s, _) in sorted(layout.items()))
        problems.append(f"arrays disagree on the number of transitions ({sizes})")
    for name, (shape, dtype) in sorted(layout.items()):
        expect = want.get(name) or (OPTIONAL_ARRAYS.get(name), ())
        if expect[0] is None:
            continue
        if np.dtype(dtype) != np.dtype(expect[0]):
            problems.append(f"{name}: dtype {dtype} != {expect[0]}")
        if tuple(shape[1:]) != expect[1]:
            problems.append(f"{name}: shape {list(shape[1:])} per transition != {list(expect[1])}")
    return problems


def _counts(arrays: Mapping[str, npt.NDArray[Any]], episodes: int) -> SampleCounts:
    acted, possessed = arrays["acted"], arrays["possessed"]
    return SampleCounts(
        transitions=int(arrays["actions"].shape[0]),
        decisions=int(np.count_nonzero(acted & ~possessed)),
        possessed=int(np.count_nonzero(possessed)),
        terminated=int(np.count_nonzero(arrays["terminated"])),
        truncated=int(np.count_nonzero(arrays["truncated"])),
        episodes=episodes,
    )


def _content_problems(arrays: Mapping[str, npt.NDArray[Any]], meta: SampleMeta) -> list[str]:
    actions = arrays["actions"]
    problems = []
    if actions.size and (actions.min() < 0 or actions.max() >= len(meta.options)):
        problems.append(f"actions: values outside 0..{len(meta.options) - 1}")
    for name in ("rewards", "values", "logprobs"):
        if name in arrays and not np.isfinite(arrays[name]).all():
            problems.append(f"{name}: NaN or infinite values")
    return problems


def _refuse(where: Path, problems: list[str]) -> None:
    if problems:
        raise ReplayError(f"{where}: " + "; ".join(problems))


# -- writing -----------------------------------------------------------------


def write_sample(
    path: Path, arrays: Mapping[str, npt.ArrayLike], meta: SampleMeta, *, compress: bool = False
) -> Sidecar:
    """Write a sample (``path`` names it, with or without ``.npz``); return its sidecar.

    The arrays are checked first (names, dtypes, shapes, action range,
    finite rewards); nothing is written when they fail. ``compress`` trades
    speed and memory-mapping for size.
    """
    npz, sidecar_path = sample_files(path)
    arrs = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    layout = {name: (a.shape, a.dtype.name) for name, a in arrs.items()}
    _refuse(npz, layout_problems(layout, meta))
    _refuse(npz, _content_problems(arrs, meta))
    sidecar = Sidecar(
        **meta.model_dump(include=set(SampleMeta.model_fields)),
        schema_version=REPLAY_SCHEMA_VERSION,
        counts=_counts(arrs, len(meta.episodes)),
        arrays={n: ArrayInfo(shape=s, dtype=d) for n, (s, d) in sorted(layout.items())},
    )
    sidecar_path.unlink(missing_ok=True)  # while the NPZ changes, the sample is incomplete
    _npz.save_atomic(npz, arrs, compress=compress)
    _npz.write_atomic(sidecar_path, (sidecar.model_dump_json(indent=2) + "\n").encode())
    return sidecar


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest_path(path: Path) -> Path:
    return path / MANIFEST_NAME if path.is_dir() or not path.suffix else path


def append_to_manifest(manifest: Path, sample: Path) -> Manifest:
    """Add a written sample to a manifest (a directory or its ``manifest.json``).

    The manifest is created when missing and rewritten atomically; a sample
    whose spec hash differs from the manifest's is refused.
    """
    path = _manifest_path(manifest)
    current = read_manifest(path) if path.exists() else Manifest(schema_version="1.0")
    npz, sidecar_path = sample_files(sample)
    sidecar = check_sample(npz)
    if current.spec_hash is not None and sidecar.spec.hash != current.spec_hash:
        raise ReplayError(
            f"{npz}: spec.hash {sidecar.spec.hash} != manifest {path} spec_hash {current.spec_hash}"
        )
    base = path.parent.resolve()
    entry = ManifestEntry(
        path=_relative(npz, base),
        sidecar=_relative(sidecar_path, base),
        transitions=sidecar.counts.transitions,
        decisions=sidecar.counts.decisions,
        episodes=sidecar.counts.episodes,
        spec_hash=sidecar.spec.hash,
        bytes=npz.stat().st_size,
        sha256=_sha256(npz),
    )
    kept = tuple(e for e in current.samples if e.path != entry.path)
    updated = Manifest(schema_version="1.0", spec_hash=entry.spec_hash, samples=(*kept, entry))
    _npz.write_atomic(path, (updated.model_dump_json(indent=2) + "\n").encode())
    return updated


def _relative(path: Path, base: Path) -> str:
    resolved = path.resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return resolved.as_posix()


# -- reading -----------------------------------------------------------------


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ReplayError(f"{path}: {what} is missing") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"{path}: {what} is unreadable ({exc})") from exc
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayError(
            f"{path}: {what} is not valid JSON (truncated?): {exc.msg} at line {exc.lineno}"
        ) from exc
    if not isinstance(obj, dict):
        raise ReplayError(f"{path}: {what} must be a JSON object")
    version = obj.get("schema_version")
    if version != REPLAY_SCHEMA_VERSION:
        raise ReplayError(
            f"{path}: schema_version: unknown replay schema version {version!r} "
            f"(this Townlet reads {REPLAY_SCHEMA_VERSION!r})"
        )
    return obj


def _validated(model: type[BaseModel], obj: Any, path: Path) -> Any:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ReplayError(f"{path}: {problems}") from exc


def read_sidecar(path: Path) -> Sidecar:
    """The sidecar of a sample (``path``: either file or the bare name)."""
    _, sidecar_path = sample_files(path)
    sidecar: Sidecar = _validated(Sidecar, _read_json(sidecar_path, "sidecar"), sidecar_path)
    return sidecar


def check_sample(path: Path) -> Sidecar:
    """Check a sample's sidecar and NPZ headers (no array data read); its sidecar."""
    npz, _ = sample_files(path)
    sidecar = read_sidecar(npz)
    if not npz.exists():
        raise ReplayError(f"{npz}: NPZ file is missing (its sidecar exists)")
    try:
        headers = _npz.read_headers(npz)
    except ValueError as exc:
        raise ReplayError(f"{npz}: {exc}") from exc
    layout = {name: (h.shape, h.dtype.name) for name, h in headers.items()}
    problems = layout_problems(layout, sidecar)
    recorded = {n: (a.shape, np.dtype(a.dtype).name) for n, a in sidecar.arrays.items()}
    if not problems and layout != recorded:
        differ = sorted(n for n in set(layout) | set(recorded) if layout.get(n) != recorded.get(n))
        problems.append(f"{', '.join(differ)}: NPZ does not match the sidecar's arrays")
    n = next(iter(layout.values()))[0][0] if layout else 0
    if not problems and n != sidecar.counts.transitions:
        problems.append(f"counts.transitions {sidecar.counts.transitions} != {n} rows in the NPZ")
    _refuse(npz, problems)
    return sidecar


def load_sample(path: Path, *, mmap: bool = False) -> Sample:
    """Check and load one sample; ``mmap`` maps uncompressed arrays instead of reading."""
    npz, _ = sample_files(path)
    sidecar = check_sample(npz)
    try:
        arrays = _npz.load_arrays(npz, mmap=mmap)
    except ValueError as exc:
        raise ReplayError(f"{npz}: {exc}") from exc
    layout = {name: (a.shape, a.dtype.name) for name, a in arrays.items()}
    _refuse(npz, layout_problems(layout, sidecar))
    if not mmap:
        _refuse(npz, _content_problems(arrays, sidecar))
        if _counts(arrays, sidecar.counts.episodes) != sidecar.counts:
            raise ReplayError(f"{npz}: counts: the arrays do not match the sidecar's counts")
    return Sample(npz, sidecar, arrays)


def read_manifest(path: Path) -> Manifest:
    """A manifest (``path``: the file or its directory), checked but not its samples."""
    path = _manifest_path(path)
    manifest: Manifest = _validated(Manifest, _read_json(path, "manifest"), path)
    return manifest


def manifest_samples(path: Path, *, verify: bool = True) -> list[Path]:
    """The NPZ paths a manifest lists, after checking each exists with its size and spec hash.

    ``verify`` also compares each file's sha256 with the manifest's (reads
    every file once).
    """
    path = _manifest_path(path)
    manifest = read_manifest(path)
    out: list[Path] = []
    for i, entry in enumerate(manifest.samples):
        npz = path.parent / entry.path
        where = f"{path}: samples[{i}] {entry.path}"
        if not npz.is_file() or not (path.parent / entry.sidecar).is_file():
            missing = entry.path if not npz.is_file() else entry.sidecar
            raise ReplayError(f"{where}: file {missing} is missing")
        if npz.stat().st_size != entry.bytes:
            raise ReplayError(f"{where}: bytes: {npz.stat().st_size} != {entry.bytes} listed")
        if manifest.spec_hash is not None and entry.spec_hash != manifest.spec_hash:
            raise ReplayError(f"{where}: spec_hash {entry.spec_hash} != {manifest.spec_hash}")
        if verify and _sha256(npz) != entry.sha256:
            raise ReplayError(f"{where}: sha256 does not match the file (changed or corrupt)")
        out.append(npz)
    return out
