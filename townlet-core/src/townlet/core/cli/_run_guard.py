"""What ``townlet run`` settles before its first tick and how it stops.

Run length from ``--ticks``/``--days``, a snapshot directory that can really
be written, stop signals (Ctrl-C and ``SIGTERM`` alike) and snapshot writes
that fail mid-run: each is a usage error up front or a report, never a
traceback after the simulation time is spent.
"""

from __future__ import annotations

import math
import signal
import tempfile
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import click

__all__ = ["SnapshotFailures", "StopSignals", "check_snapshot_dir", "ticks_to_run"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals that stop a run after the current tick, summary printed, telemetry closed."""


def ticks_to_run(
    ticks: int | None, days: float | None, ticks_per_day: int, default: int | None
) -> int:
    """The run's length: ``--ticks``, or ``--days`` in ticks, or ``default``, or 3 days."""
    if ticks is not None and days is not None:
        raise click.UsageError("give --ticks or --days, not both")
    if ticks is not None:
        return ticks
    if days is None:
        return default if default is not None else 3 * ticks_per_day
    if not math.isfinite(days):
        raise click.BadParameter(f"{days} is not a number of days", param_hint="'--days'")
    total = round(days * ticks_per_day)
    if total < 1:
        raise click.BadParameter(
            f"{days:g} sim days is less than one tick (a sim day is {ticks_per_day} ticks)",
            param_hint="'--days'",
        )
    return total


def check_snapshot_dir(path: Path) -> None:
    """Create ``path`` if needed and make sure a file can be written in it."""
    hint = "'--snapshot-dir'"
    if path.exists() and not path.is_dir():
        raise click.BadParameter(f"{path} exists and is not a directory", param_hint=hint)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.BadParameter(f"cannot create {path}: {exc.strerror}", param_hint=hint) from exc
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise click.BadParameter(
            f"cannot write in {path}: {exc.strerror}", param_hint=hint
        ) from exc


class StopSignals:
    """While active, Ctrl-C (``SIGINT``) and ``SIGTERM`` ask the run to stop after the tick.

    ``exit_code`` is then ``128 + signal number`` (130 for Ctrl-C, 143 for
    ``SIGTERM``), the status a shell reports for a process the signal ended.
    A second stop signal is not held back: it gets the handling it had before
    (Ctrl-C raises ``KeyboardInterrupt``, ``SIGTERM`` ends the process), so an
    operator can still force a run whose shutdown hangs.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        """Whether a stop signal arrived."""
        return self.received is not None

    @property
    def exit_code(self) -> int:
        """0, or the shell's status for the signal received."""
        return 0 if self.received is None else 128 + self.received

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
            return
        previous = self._previous.get(signum, signal.SIG_DFL)
        signal.signal(signum, previous)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.raise_signal(signum)

    def __enter__(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


class SnapshotFailures:
    """Counts snapshot writes that failed; warns on the first of each kind of failure."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        self.last: str | None = None

    def __call__(self, exc: OSError) -> None:
        """Record one failed write (the run goes on; earlier snapshots stay)."""
        self.count += 1
        reason = exc.strerror or str(exc)
        if reason != self.last:
            click.echo(
                f"Warning: cannot write a snapshot in {self.directory}: {reason}; "
                "the run goes on, earlier snapshots are kept",
                err=True,
            )
        self.last = reason

    def summary_line(self) -> str | None:
        """One line for the run summary, or None when every write succeeded."""
        if not self.count:
            return None
        return f"snapshots failed  {self.count} (last: {self.last})"
