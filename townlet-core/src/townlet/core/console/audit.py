"""The console's audit log: append-only JSONL that never blocks or stops the town.

Admin commands, applied or refused, are written one line each. Reads (viewer
commands such as ``status``, whoever sends them) and a viewer's attempts at
admin commands (``forbidden``) are tallied instead and written as one
``tally`` line per :attr:`AuditLog.tally_interval` seconds, so a flood of
viewer requests cannot fill the disk.

Every write opens the file non-blocking, so a FIFO without a reader fails at
once instead of blocking the tick; that and any other failure (a full disk, a
directory, an unwritable path) is counted in :attr:`AuditLog.failures`, never
raised: the log must not stop a running town.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["AuditLog"]


class AuditLog:
    """Writes audit entries to ``path`` (None: nowhere); counts failed writes."""

    def __init__(
        self,
        path: Path | None,
        *,
        tally_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.tally_interval = tally_interval
        """Seconds between two ``tally`` lines."""
        self.failures = 0
        """Audit lines that could not be written."""
        self._clock = clock
        self._tally: Counter[tuple[str, str, str]] = Counter()
        self._tally_since = 0.0
        self._tally_ticks: tuple[int, int] = (0, 0)

    def command(self, entry: Mapping[str, Any]) -> None:
        """Append one entry (a command that changes, or tried to change, the town)."""
        self._write({"time": round(time.time(), 3), **entry})

    def tally(self, tick: int, issuer: str, command: str, code: str) -> None:
        """Count one read or forbidden attempt; writes the tally when the interval has passed."""
        if self.path is None:
            return
        if not self._tally:
            self._tally_since = self._clock()
            self._tally_ticks = (tick, tick)
        self._tally[(issuer, command, code)] += 1
        self._tally_ticks = (self._tally_ticks[0], tick)
        self.flush_tally(due_only=True)

    def flush_tally(self, *, due_only: bool = False) -> None:
        """Write the tally as one line (with ``due_only``: only when the interval has passed)."""
        if not self._tally:
            return
        if due_only and self._clock() - self._tally_since < self.tally_interval:
            return
        first, last = self._tally_ticks
        counts = [
            {"issuer": issuer, "command": command, "code": code, "count": n}
            for (issuer, command, code), n in sorted(self._tally.items())
        ]
        self._tally.clear()
        self.command({"kind": "tally", "first_tick": first, "tick": last, "counts": counts})

    def _write(self, entry: Mapping[str, Any]) -> None:
        if self.path is None:
            return
        try:
            line = (json.dumps(entry, sort_keys=True, default=str) + "\n").encode()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # O_NONBLOCK: a FIFO or terminal as the log fails (or drops) instead of blocking
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except (OSError, ValueError, TypeError, RecursionError):
            self.failures += 1
