"""Reading telemetry and training logs line by line, malformed lines included.

A log is JSON Lines, plain or gzip (told by its first bytes, not its name).
Each line is an observer payload (it has ``payload_type``), a training
record (it has ``telemetry_version``) or a problem. Problems never raise:
they come back as :class:`LogLine` objects with ``error`` set and their
line number, so tools can report them and carry on. A damaged file (a gzip
stream cut short or with flipped bits) ends with one such line, numbered
after the last line read, saying so; a line nested deeper than
:data:`MAX_DEPTH` is reported instead of parsed further.
"""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

__all__ = ["MAX_DEPTH", "LogLine", "is_gzip", "read_log", "training_record"]

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects read in a line (payloads nest about 6 deep)."""

LineKind = Literal["payload", "training", "error"]


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a log: its number, what it is and its parsed object."""

    lineno: int
    kind: LineKind
    obj: dict[str, Any] | None = None
    error: str | None = None
    non_finite: bool = False
    """The line used NaN or Infinity, which Python reads but JSON does not allow."""


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic bytes."""
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def training_record(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The training record in a line: a bare record or a ``training_epoch`` payload's."""
    if obj.get("payload_type") == "training_epoch":
        record = obj.get("record")
        return record if isinstance(record, Mapping) else None
    if "payload_type" not in obj and "telemetry_version" in obj:
        return obj
    return None


def parse_line(lineno: int, raw: bytes) -> LogLine | None:
    """Parse one raw line; None for a blank line."""
    text = raw.strip()
    if not text:
        return None
    flagged: list[str] = []

    def constant(name: str) -> float:
        flagged.append(name)
        return float(name.replace("Infinity", "inf"))

    too_deep = LogLine(lineno, "error", error=f"nested more than {MAX_DEPTH} levels deep")
    try:
        obj = json.loads(text, parse_constant=constant)
    except UnicodeDecodeError:
        return LogLine(lineno, "error", error="not UTF-8 text")
    except json.JSONDecodeError as exc:
        return LogLine(lineno, "error", error=f"invalid JSON: {exc.msg} (column {exc.colno})")
    except RecursionError:
        return too_deep
    # Only a line with that many brackets can nest that deep: most lines skip the walk.
    if text.count(b"[") + text.count(b"{") > MAX_DEPTH and _depth_exceeds(obj, MAX_DEPTH):
        return too_deep
    if not isinstance(obj, dict):
        return LogLine(lineno, "error", error=f"expected a JSON object, got {type(obj).__name__}")
    if "payload_type" in obj:
        return LogLine(lineno, "payload", obj, non_finite=bool(flagged))
    if "telemetry_version" in obj:
        return LogLine(lineno, "training", obj, non_finite=bool(flagged))
    return LogLine(
        lineno,
        "error",
        obj,
        error="neither a telemetry payload (no payload_type) nor a training record "
        "(no telemetry_version)",
    )


def _depth_exceeds(obj: Any, limit: int) -> bool:
    """Whether arrays and objects in ``obj`` nest more than ``limit`` deep (no recursion)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False


def _damage(exc: BaseException) -> str:
    """What a read error says about the file."""
    if isinstance(exc, EOFError):
        return "the gzip stream ends early (truncated file)"
    if isinstance(exc, gzip.BadGzipFile):
        return f"corrupted gzip data ({exc})"
    if isinstance(exc, zlib.error):
        return f"corrupted gzip data ({exc})"
    return f"cannot read the file ({type(exc).__name__}: {exc})"


def read_log(
    path: Path,
    *,
    follow: bool = False,
    poll_s: float = 0.2,
    idle_timeout_s: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[LogLine]:
    """Yield every line of ``path`` (blank lines skipped).

    With ``follow``, keep reading as the file grows (like ``tail -f``), wait
    for a line's newline before parsing it, start over when the file is
    replaced or truncated (rotation), and stop after ``idle_timeout_s``
    seconds without a new line, or when ``should_stop()`` is true.
    Following a gzip file is refused with ``ValueError``.
    """
    if not follow:
        yield from _read_whole(path)
        return
    if path.exists() and is_gzip(path):
        raise ValueError(f"{path}: cannot follow a gzip file; follow the live segment instead")
    yield from _follow(path, poll_s, idle_timeout_s, should_stop)


def _read_whole(path: Path) -> Iterator[LogLine]:
    """Every line of a plain or gzip file; a damaged file ends with an error line."""
    lineno = 0
    try:
        with gzip.open(path, "rb") if is_gzip(path) else path.open("rb") as fh:
            for raw in fh:
                lineno += 1
                line = parse_line(lineno, raw)
                if line is not None:
                    yield line
    except (EOFError, OSError, zlib.error) as exc:
        reached = f"after line {lineno}" if lineno else "before the first line"
        yield LogLine(lineno + 1, "error", error=f"damaged file, {reached}: {_damage(exc)}")


def _follow(
    path: Path, poll_s: float, idle_timeout_s: float | None, should_stop: Callable[[], bool]
) -> Iterator[LogLine]:
    fh: IO[bytes] | None = None
    ident: tuple[int, int] | None = None
    lineno = 0
    pending = b""
    last_line = time.monotonic()
    try:
        while not should_stop():
            if fh is None:
                try:
                    fh = path.open("rb")
                except FileNotFoundError:
                    fh = None
                else:
                    st = os.fstat(fh.fileno())
                    ident, lineno, pending = (st.st_dev, st.st_ino), 0, b""
            got_line = False
            if fh is not None:
                for chunk in iter(fh.readline, b""):
                    pending += chunk
                    if not pending.endswith(b"\n"):
                        break  # a line still being written
                    lineno += 1
                    line = parse_line(lineno, pending)
                    pending = b""
                    got_line = True
                    if line is not None:
                        yield line
                if not got_line and _replaced(path, fh, ident):
                    fh.close()
                    fh = None
                    continue
            now = time.monotonic()
            if got_line:
                last_line = now
            elif idle_timeout_s is not None and now - last_line >= idle_timeout_s:
                return
            else:
                time.sleep(poll_s)
    finally:
        if fh is not None:
            fh.close()


def _replaced(path: Path, fh: IO[bytes], ident: tuple[int, int] | None) -> bool:
    """Whether ``path`` now names another file, or ours was truncated."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False  # rotated away, the new one not there yet: keep reading the old
    if (st.st_dev, st.st_ino) != ident:
        return True
    return st.st_size < fh.tell()
