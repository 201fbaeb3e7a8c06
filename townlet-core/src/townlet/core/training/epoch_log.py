"""The training log: one JSON line per epoch, in the run directory and where asked.

Each :class:`EpochRecord` becomes one line of ``epochs.jsonl`` in the run
directory (and of the ``--ppo-log`` file when given), flushed as it is
written so ``townlet telemetry watch`` follows a run live. An optional
callback receives every record too; the orchestrator uses it to publish a
``training_epoch`` event to the configured telemetry sinks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from townlet.core.training.dto import EpochRecord

__all__ = ["EPOCH_LOG", "EpochCallback", "EpochLogger"]

EPOCH_LOG: Final = "epochs.jsonl"
"""File name of the epoch log inside a run directory."""

EpochCallback = Callable[[int, Mapping[str, Any]], None]
"""Receives ``(epoch, record as a JSON-able dict)`` after the record is written."""


def _last_epoch(path: Path) -> int | None:
    """The epoch of the last readable record of an existing log."""
    if not path.exists():
        return None
    last = None
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                epoch = json.loads(line).get("epoch")
            except (json.JSONDecodeError, AttributeError):
                continue
            last = epoch if isinstance(epoch, int) else last
    return last


class EpochLogger:
    """Appends epoch records to the run's log (and a second file), then calls back.

    Epochs must increase (as ``townlet telemetry validate`` requires), also
    across a resumed run appending to an existing log: a record whose epoch
    does not follow the last one is refused with ``ValueError`` before
    anything is written. Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        extra_path: Path | None = None,
        on_record: EpochCallback | None = None,
    ) -> None:
        self.path = run_dir / EPOCH_LOG
        self.extra_path = extra_path
        self._on_record = on_record
        self._files: list[IO[str]] = []
        self._last_epoch = _last_epoch(self.path)
        self.records = 0
        """Records written so far."""
        run_dir.mkdir(parents=True, exist_ok=True)
        for path in (self.path, extra_path):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._files.append(path.open("a", encoding="utf-8"))

    def log(self, record: EpochRecord) -> dict[str, Any]:
        """Write ``record`` as one line to every file, flush, call back; return its dict."""
        if not self._files:
            raise ValueError(f"{self.path}: the epoch logger is closed")
        if self._last_epoch is not None and record.epoch <= self._last_epoch:
            raise ValueError(f"epoch {record.epoch} does not follow epoch {self._last_epoch}")
        # Every field is written, nulls included: version 1.2 requires the anneal keys.
        obj = record.model_dump(mode="json")
        line = json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n"
        for fh in self._files:
            fh.write(line)
            fh.flush()
        self._last_epoch = record.epoch
        self.records += 1
        if self._on_record is not None:
            self._on_record(record.epoch, obj)
        return obj

    def close(self) -> None:
        """Close the files (idempotent)."""
        for fh in self._files:
            fh.close()
        self._files = []

    def __enter__(self) -> EpochLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
