"""NPZ files read member by member: headers without data, memory maps, atomic writes.

An ``.npz`` is a zip of ``.npy`` members. Reading a member's ``.npy`` header
gives its shape and dtype without its data, so every file of a dataset can
be checked before any array is read. Members stored uncompressed (what
:func:`save_atomic` writes by default) can be memory-mapped in place.
Failures raise ``ValueError`` with a short reason; callers add the file name.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

__all__ = ["Header", "load_arrays", "read_headers", "save_atomic", "write_atomic"]

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zip local file header, 30 bytes
_LOCAL_MAGIC = b"PK\x03\x04"
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError)


@dataclass(frozen=True, slots=True)
class Header:
    """Shape, dtype and memory order of one member, read from its ``.npy`` header."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    fortran_order: bool


def _member_header(fh: IO[bytes]) -> Header:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject:
        raise ValueError("object arrays are not allowed")
    return Header(tuple(int(n) for n in shape), dtype, bool(fortran))


def _members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    out: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"member {info.filename!r} is not an .npy array")
        out[info.filename[: -len(".npy")]] = info
    return out


def read_headers(path: Path) -> dict[str, Header]:
    """Name → header of every member, reading no array data."""
    try:
        with zipfile.ZipFile(path) as zf:
            headers: dict[str, Header] = {}
            for name, info in _members(zf).items():
                with zf.open(info) as fh:
                    try:
                        headers[name] = _member_header(fh)
                    except ValueError as exc:
                        raise ValueError(f"array {name!r}: {exc}") from exc
            return headers
    except _READ_ERRORS as exc:
        raise ValueError(f"not a readable NPZ file ({exc})") from exc


def _data_offset(raw: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Byte offset in the zip file where a stored member's ``.npy`` bytes start."""
    raw.seek(info.header_offset)
    fields = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if fields[0] != _LOCAL_MAGIC:
        raise ValueError(f"member {info.filename!r}: bad local header")
    name_len, extra_len = fields[-2], fields[-1]
    return int(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)


def load_arrays(path: Path, *, mmap: bool = False) -> dict[str, npt.NDArray[Any]]:
    """Every member as an array; with ``mmap``, stored members are mapped read-only.

    Read members are checked against their CRC (a flipped bit is an error);
    mapped members are not read here at all, which is the point of mapping.
    """
    arrays: dict[str, npt.NDArray[Any]] = {}
    try:
        with zipfile.ZipFile(path) as zf, path.open("rb") as raw:
            for name, info in _members(zf).items():
                if mmap and info.compress_type == zipfile.ZIP_STORED:
                    raw.seek(_data_offset(raw, info))
                    header = _member_header(raw)
                    arrays[name] = np.memmap(
                        path,
                        dtype=header.dtype,
                        mode="r",
                        offset=raw.tell(),
                        shape=header.shape,
                        order="F" if header.fortran_order else "C",
                    )
                    continue
                with zf.open(info) as fh:
                    arrays[name] = np.lib.format.read_array(fh, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise ValueError(f"not a readable NPZ file ({exc})") from exc
    return arrays


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    _replace_with(path, lambda fh: fh.write(data))


def save_atomic(
    path: Path, arrays: Mapping[str, npt.NDArray[Any]], *, compress: bool = False
) -> None:
    """``np.savez`` (or ``savez_compressed``) to ``path`` atomically."""
    save = np.savez_compressed if compress else np.savez
    members: dict[str, Any] = dict(arrays)  # names never collide with savez's keywords
    _replace_with(path, lambda fh: save(fh, allow_pickle=False, **members))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace_with(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
