"""The ``jsonl`` sink: one JSON payload per line in a file, with rotation and gzip."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel, Field, model_validator

from townlet.core.ports import PluginParams, TelemetryEvent
from townlet.core.telemetry import (
    PartialDelivery,
    TrackingWorldSource,
    TransportHealth,
    WorldSource,
    encode_event,
    encode_payload,
)
from townlet.core.telemetry.payloads import WORLD_TYPES
from townlet.telemetry.sinks._segment import SegmentFile, sync_directory

__all__ = ["JsonlParams", "JsonlSink"]

STOP_WAIT_S = 1.0
"""How long :meth:`JsonlSink.stop` waits for a write in progress on the sink's thread;
after that the writing thread closes the file itself when its write returns."""


class JsonlParams(PluginParams):
    """Parameters of the ``jsonl`` sink."""

    path: str = Field(
        min_length=1,
        description="File to write (relative to the working directory); '.gz' is added "
        "when gzip is on and the name lacks it.",
    )
    gzip: bool = Field(False, description="Compress every segment with gzip.")
    gzip_level: int = Field(
        6,
        ge=1,
        le=9,
        description="gzip level (1..9): 1 fastest, 9 smallest; 6 is 4× faster than 9.",
    )
    rotate_bytes: int | None = Field(
        None,
        ge=1024,
        le=2**40,
        description="Start a new segment after this many uncompressed bytes (1 KiB..1 TiB).",
    )
    rotate_seconds: float | None = Field(
        None,
        ge=1,
        le=366 * 86400,
        description="Start a new segment after this many seconds (1 s..366 days).",
    )
    keep: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Rotated segments to keep, the oldest deleted first (1..1000000; "
        "default: keep all).",
    )

    @model_validator(mode="after")
    def _keep_needs_rotation(self) -> Self:
        if self.keep is not None and self.rotate_bytes is None and self.rotate_seconds is None:
            raise ValueError("'keep' needs rotate_bytes or rotate_seconds")
        return self


class JsonlSink:
    """Writes every payload as one line of JSON to a file (JSON Lines).

    The live segment is always ``path``. With rotation, a full segment is
    renamed ``<stem>.NNNNNN.jsonl[.gz]`` (numbers increase) and a new one is
    started; an existing non-empty ``path`` is rotated away at start. Every
    segment that holds world messages begins its world stream with a full
    ``world_snapshot``, so each file can be read, validated or replayed alone:
    a full segment ends at the next world message, which opens the next
    segment as a full snapshot (the hub sends one when the sink asks).

    Each batch the hub hands over is written to the operating system in one
    go before :meth:`emit_batch` returns (see
    :class:`~townlet.telemetry.sinks._segment.SegmentFile`): a message counts
    as delivered only once its line is in the file, and the file always ends
    with a whole line (and, gzipped, with a whole gzip stream). A failed write
    (a full disk, a file size limit, the file or its directory deleted) is
    reported through the hub's health as an error, its messages count as
    dropped and nothing of them stays in the file; the next batch opens the
    file again (creating its directory if it is gone) and its world stream
    restarts with a full snapshot.
    """

    Params: ClassVar[type[BaseModel]] = JsonlParams
    plugin_api_version: ClassVar[str] = "2.0"

    def __init__(self, params: JsonlParams) -> None:
        self.params = params
        path = Path(params.path).expanduser()
        if params.gzip and path.suffix != ".gz":
            path = path.with_name(path.name + ".gz")
        self.path = path
        name = path.name.removesuffix(".gz")
        stem, dot, ext = name.rpartition(".")
        self._stem, self._ext = (stem, dot + ext) if stem else (name, "")
        self._segment: SegmentFile | None = None
        self._pending: list[bytes] = []
        """Lines of the batch in hand, not yet written."""
        self._delivered = 0
        """Messages of the batch in hand whose lines are written."""
        self._world: WorldSource = TrackingWorldSource()
        self._has_world = False
        """The live segment holds world messages (so the next must start whole)."""
        self._rotation_due = False
        self._whole_due = False
        """A write failed: the file's world stream must go on with a full snapshot."""
        self._asked = False
        self._opened_at = 0.0
        self._segment_bytes = 0
        self._segments = 0
        self._write_errors = 0
        self._last_error: str | None = None
        self._lock = threading.Lock()
        """Held while a batch is written: ``stop`` may come from another thread (the hub
        aborting a slow drain) and must not close a descriptor that is in use."""
        self._stopped = False

    # -- segments --------------------------------------------------------------

    def _rotated_name(self, index: int) -> Path:
        gz = ".gz" if self.path.name.endswith(".gz") else ""
        return self.path.with_name(f"{self._stem}.{index:06d}{self._ext}{gz}")

    def rotated_segments(self) -> list[Path]:
        """Rotated segment files, oldest first."""
        gz = re.escape(".gz") if self.path.name.endswith(".gz") else ""
        pattern = re.compile(rf"{re.escape(self._stem)}\.(\d{{6,}}){re.escape(self._ext)}{gz}")
        found = []
        for candidate in self.path.parent.glob(f"{self._stem}.*"):
            match = pattern.fullmatch(candidate.name)
            if match:
                found.append((int(match.group(1)), candidate))
        return [p for _, p in sorted(found)]

    def _open(self) -> None:
        """Open ``path`` for appending (never truncate a half-rotated segment)."""
        level = self.params.gzip_level if self.params.gzip else None
        self._segment = SegmentFile(self.path, gzip_level=level)

    def _close(self) -> None:
        """Sync and close the live segment (``OSError`` when the sync fails)."""
        segment, self._segment = self._segment, None
        if segment is not None:
            segment.close()

    def _drop_segment(self) -> None:
        """Close the live segment after a failure; a failed sync only updates health."""
        try:
            self._close()
        except OSError as exc:
            self._last_error = f"{type(exc).__name__}: {exc}"

    def _rotate(self) -> None:
        self._commit()
        self._close()
        if self.path.exists() and self.path.stat().st_size > 0:
            existing = self.rotated_segments()
            last = int(existing[-1].name[len(self._stem) + 1 :].split(".")[0]) if existing else 0
            self.path.rename(self._rotated_name(last + 1))
            sync_directory(self.path.parent)
            if self.params.keep is not None:
                for old in self.rotated_segments()[: -self.params.keep]:
                    old.unlink(missing_ok=True)
        self._open()
        self._opened_at = time.monotonic()
        self._segment_bytes = 0
        self._has_world = self._rotation_due = self._whole_due = self._asked = False
        self._segments += 1

    def _commit(self) -> None:
        """Write the pending lines (all or none; ``OSError`` when none)."""
        if not self._pending:
            return
        assert self._segment is not None
        self._segment.append(b"".join(self._pending))
        self._delivered += len(self._pending)
        self._pending.clear()

    # -- sink protocol -----------------------------------------------------------

    def bind_world(self, source: WorldSource) -> None:
        """Take the hub's world for segment starts instead of following every diff."""
        self._world = source

    def start(self) -> None:
        """Rotate away a non-empty file left at ``path`` and open a fresh one."""
        self._rotate()

    def emit(self, event: TelemetryEvent) -> None:
        """Write the event's payload as one line (raises when the write fails)."""
        self.emit_batch([event])

    def emit_batch(self, events: Sequence[TelemetryEvent]) -> int:
        """Write the payloads as lines, rotating as configured; return how many were written.

        A world diff that cannot follow in the file (after a failed write,
        until the full snapshot asked for arrives) is left out. A failed write
        raises :class:`~townlet.core.telemetry.PartialDelivery` with the count
        of messages written before it.
        """
        with self._lock:
            if self._stopped:
                raise PartialDelivery(0, f"{self.path}: the sink is stopped")
            try:
                return self._write_batch(events)
            finally:
                self._close_if_stopped()

    def _close_if_stopped(self) -> None:
        """Close the file if ``stop`` came, from another thread, during this write
        and gave up waiting for it."""
        if self._stopped:
            self._drop_segment()

    def _write_batch(self, events: Sequence[TelemetryEvent]) -> int:
        self._delivered = 0
        try:
            for event in events:
                if self._segment is None:
                    self._open()
                line = self._line(event)
                if line is not None:
                    self._pending.append(line + b"\n")
                    self._segment_bytes += len(line) + 1
                self._rotate_if_due()
            self._commit()
        except OSError as exc:
            self._pending.clear()
            self._drop_segment()
            self._whole_due = True
            self._write_errors += 1
            self._last_error = f"{type(exc).__name__}: {exc}"
            raise PartialDelivery(self._delivered, f"writing {self.path}: {exc}") from exc
        return self._delivered

    def _line(self, event: TelemetryEvent) -> bytes | None:
        """The event's line; for world messages, open a due segment with the whole world."""
        if event.kind not in WORLD_TYPES:
            return encode_event(event)
        self._world.observe(event)
        if not (self._rotation_due or self._whole_due):
            self._has_world = True
            return encode_event(event)
        whole = event.payload if event.kind == "world_snapshot" else self._world.snapshot_now()
        if whole is None:
            if not self._asked:  # the hub sends the world whole with the next message
                self._world.request_snapshot()
                self._asked = True
            if self._whole_due:
                return None  # a diff cannot follow a gap in the file
            self._has_world = True
            return encode_event(event)  # it still belongs to the full segment
        if self._rotation_due:
            self._rotate()
        self._whole_due = self._asked = False
        self._has_world = True
        return encode_event(event) if whole is event.payload else encode_payload(whole)

    def _rotate_if_due(self) -> None:
        p = self.params
        if self._rotation_due or not (
            (p.rotate_bytes is not None and self._segment_bytes >= p.rotate_bytes)
            or (
                p.rotate_seconds is not None
                and time.monotonic() - self._opened_at >= p.rotate_seconds
            )
        ):
            return
        if self._has_world:
            self._rotation_due = True  # at the next world message
        else:
            self._rotate()

    def stop(self) -> None:
        """Sync and close the live segment (every line is already written). Idempotent.

        Safe from any thread: a batch being written finishes first; when that
        takes longer than :data:`STOP_WAIT_S`, the writing thread closes the
        file as soon as its write returns, and no later batch reopens it.
        """
        self._stopped = True
        if self._lock.acquire(timeout=STOP_WAIT_S):
            try:
                self._close()
            finally:
                self._lock.release()

    def health(self) -> TransportHealth:
        """Open or not, the live file, segments started, failed writes."""
        return TransportHealth(
            connected=self._segment is not None,
            last_error=self._last_error,
            detail={
                "path": str(self.path),
                "segments": self._segments,
                "write_errors": self._write_errors,
            },
        )
