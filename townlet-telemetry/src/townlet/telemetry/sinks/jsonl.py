"""The ``jsonl`` sink: one JSON payload per line in a file, with rotation and gzip."""

from __future__ import annotations

import gzip
import io
import re
import time
from pathlib import Path
from typing import IO, ClassVar, Self

from pydantic import BaseModel, Field, model_validator

from townlet.core.ports import PluginParams, TelemetryEvent
from townlet.core.telemetry import (
    TrackingWorldSource,
    TransportHealth,
    WorldSource,
    encode_event,
    encode_payload,
)
from townlet.core.telemetry.payloads import WORLD_TYPES

__all__ = ["JsonlParams", "JsonlSink"]

_BUFFER = 1024 * 1024


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
    flush_interval_s: float = Field(
        1.0,
        ge=0,
        le=3600,
        description="While busy, flush to disk at most this often (0..3600 s); the hub "
        "also flushes whenever the sink goes idle.",
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
        self._fh: IO[bytes] | None = None
        self._raw: IO[bytes] | None = None
        self._zip: gzip.GzipFile | None = None
        self._world: WorldSource = TrackingWorldSource()
        self._has_world = False
        """The live segment holds world messages (so the next must start whole)."""
        self._rotation_due = False
        self._asked = False
        self._opened_at = 0.0
        self._last_flush = 0.0
        self._segment_bytes = 0
        self._segments = 0
        self._last_error: str | None = None

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Big buffers: a write that reaches the OS (or zlib) releases the GIL, and
        # getting it back from a busy tick loop takes a switch interval.
        raw = self.path.open("ab", buffering=_BUFFER)  # never truncate a half-rotated segment
        self._raw = raw
        if self.params.gzip:
            zipped = gzip.GzipFile(
                fileobj=raw, mode="wb", compresslevel=self.params.gzip_level, mtime=0
            )
            self._zip = zipped
            self._fh = io.BufferedWriter(zipped, buffer_size=_BUFFER)
        else:
            self._fh = raw
        self._opened_at = self._last_flush = time.monotonic()
        self._segment_bytes = 0
        self._has_world = self._rotation_due = self._asked = False
        self._segments += 1

    def _close(self) -> None:
        fh, zipped, raw = self._fh, self._zip, self._raw
        self._fh = self._zip = self._raw = None
        for stream in (fh, zipped, raw):  # outermost first: each flushes into the next
            if stream is not None and not stream.closed:
                stream.close()

    def _rotate(self) -> None:
        self._close()
        if self.path.exists() and self.path.stat().st_size > 0:
            existing = self.rotated_segments()
            last = int(existing[-1].name[len(self._stem) + 1 :].split(".")[0]) if existing else 0
            self.path.rename(self._rotated_name(last + 1))
            if self.params.keep is not None:
                for old in self.rotated_segments()[: -self.params.keep]:
                    old.unlink(missing_ok=True)
        self._open()

    # -- sink protocol -----------------------------------------------------------

    def bind_world(self, source: WorldSource) -> None:
        """Take the hub's world for segment starts instead of following every diff."""
        self._world = source

    def start(self) -> None:
        """Rotate away a non-empty file left at ``path`` and open a fresh one."""
        self._rotate()

    def emit(self, event: TelemetryEvent) -> None:
        """Append the event's payload as one line; rotate and flush as configured."""
        if self._fh is None:
            self._open()
        line: bytes | None = None
        if event.kind in WORLD_TYPES:
            self._world.observe(event)
            if self._rotation_due:  # the next segment must start with the whole world
                kind = event.kind
                whole = event.payload if kind == "world_snapshot" else self._world.snapshot_now()
                if whole is not None:
                    self._rotate()
                    line = encode_payload(whole)
                elif not self._asked:
                    self._world.request_snapshot()
                    self._asked = True
            self._has_world = True
        self._write(encode_event(event) if line is None else line)
        p = self.params
        now = time.monotonic()
        if not self._rotation_due and (
            (p.rotate_bytes is not None and self._segment_bytes >= p.rotate_bytes)
            or (p.rotate_seconds is not None and now - self._opened_at >= p.rotate_seconds)
        ):
            if self._has_world:
                self._rotation_due = True  # at the next world message
            else:
                self._rotate()
        elif now - self._last_flush >= p.flush_interval_s:
            self.flush()

    def _write(self, line: bytes) -> None:
        assert self._fh is not None
        try:
            self._fh.write(line + b"\n")
        except OSError as exc:
            self._last_error = f"{type(exc).__name__}: {exc}"
            raise
        self._segment_bytes += len(line) + 1

    def flush(self) -> None:
        """Push buffered lines to the operating system (through gzip, if on)."""
        for stream in (self._fh, self._zip, self._raw):
            if stream is not None:
                stream.flush()
        self._last_flush = time.monotonic()

    def stop(self) -> None:
        """Flush and close the live segment. Idempotent."""
        self._close()

    def health(self) -> TransportHealth:
        """Open or not, the live file, segments written."""
        return TransportHealth(
            connected=self._fh is not None,
            last_error=self._last_error,
            detail={"path": str(self.path), "segments": self._segments},
        )
