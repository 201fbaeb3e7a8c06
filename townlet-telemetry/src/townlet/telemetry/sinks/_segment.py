"""One log segment on disk that is whole after every append: plain lines or gzip.

:meth:`SegmentFile.append` hands a block of complete lines to the operating
system in one go and either commits all of it or leaves the file as it was
(a failed write is cut back off with ``ftruncate``), so the file's lines are
exactly the lines appended successfully. A gzip segment is written as a raw
deflate stream that is synced after every block and followed by an empty
final block and the gzip trailer; the next append cuts that end off first.
The file is therefore a complete gzip file after every append, and nothing is
lost or truncated when the process ends without closing it. After a failed
write the member in progress is ended where it was and the next block starts
a new member (a gzip file may hold several; readers see one stream).
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

__all__ = ["SegmentFile", "sync_directory"]

CHECK_EVERY_S = 1.0
"""How often an append also checks that the file is still ours (two system calls:
each gives the interpreter lock away, which a busy tick loop is slow to return)."""

_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
"""Magic, deflate, no flags, mtime 0, no extra flags, unknown OS."""
_FINAL_BLOCK = b"\x03\x00"
"""An empty final fixed-Huffman deflate block: ends a stream after a sync flush."""
_END_BYTES = len(_FINAL_BLOCK) + 8
"""The final block and the trailer (CRC-32 and size) that end every gzip member."""


class SegmentFile:
    """An append-only segment at ``path``; every :meth:`append` commits whole or not at all.

    Raises ``OSError`` from :meth:`append` when the write fails (the file is
    cut back to its last committed size first) or when the file has been
    deleted or replaced under us (checked every :data:`CHECK_EVERY_S`; the
    block is then lost with it).
    """

    def __init__(self, path: Path, *, gzip_level: int | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        st = os.fstat(self._fd)
        self._ident = (st.st_dev, st.st_ino)
        self._size = st.st_size
        """Committed bytes on disk (the gzip trailer included)."""
        self._level = gzip_level
        self._raw_bytes = 0
        """Uncompressed bytes committed (what rotation counts)."""
        self._deflate: zlib._Compress | None = None
        self._member_crc = 0
        self._member_bytes = 0
        """Uncompressed bytes in the current gzip member (0: none started)."""
        self._checked_at = time.monotonic()

    @property
    def raw_bytes(self) -> int:
        """Uncompressed bytes committed so far."""
        return self._raw_bytes

    def append(self, data: bytes) -> None:
        """Write ``data`` (complete lines) to the operating system, all of it or none."""
        fd = self._fd
        if fd is None:
            raise ValueError(f"{self.path}: segment is closed")
        keep = self._size
        if self._level is None:
            block = data
        else:
            if self._deflate is None:  # a new member: after opening, or after a failed write
                self._deflate = zlib.compressobj(self._level, zlib.DEFLATED, -15)
            body = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
            crc = zlib.crc32(data, self._member_crc)
            total = self._member_bytes + len(data)
            head = b"" if self._member_bytes else _GZIP_HEADER
            if self._member_bytes:  # cut off this member's end; the block carries a new one
                keep -= _END_BYTES
                os.ftruncate(fd, keep)
            block = head + body + _FINAL_BLOCK + struct.pack("<II", crc, total % 2**32)
        try:
            _write_all(fd, block)
        except OSError:
            self._restore(fd, keep)
            raise
        self._size = keep + len(block)
        self._raw_bytes += len(data)
        if self._level is not None:
            self._member_crc, self._member_bytes = crc, total
        now = time.monotonic()
        if now - self._checked_at >= CHECK_EVERY_S:
            self._checked_at = now
            self._check_ours()

    def _restore(self, fd: int, keep: int) -> None:
        """Cut a failed block off; a gzip member gets its previous end back and is closed.

        The compressor has taken the failed data, so later blocks go into a new
        member (a gzip file may hold several, read as one stream).
        """
        self._deflate = None
        try:
            os.ftruncate(fd, keep)
            self._size = keep
            if self._member_bytes:  # it fitted before the block was tried
                end = struct.pack("<II", self._member_crc, self._member_bytes % 2**32)
                _write_all(fd, _FINAL_BLOCK + end)
                self._size = keep + _END_BYTES
        except OSError:
            pass  # the file then ends mid-member; readers report where
        self._member_crc = self._member_bytes = 0

    def _check_ours(self) -> None:
        """Raise if the file at our path was deleted or replaced (its lines are gone)."""
        assert self._fd is not None
        if os.fstat(self._fd).st_nlink == 0:
            raise FileNotFoundError(f"{self.path} was deleted while being written")
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path} was deleted while being written") from None
        if (now.st_dev, now.st_ino) != self._ident:
            raise FileNotFoundError(f"{self.path} was replaced while being written")

    def close(self) -> None:
        """Sync the file to disk and close it (it is already complete). Idempotent.

        One ``fsync`` per segment (at rotation and at the end of the run, on the
        sink's thread): a finished segment survives a power loss, while appends
        stay free of it. Raises ``OSError`` when the sync fails (the descriptor
        is closed all the same).
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def sync_directory(path: Path) -> None:
    """``fsync`` a directory so a rename or a new file in it survives a power loss."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
