"""Errors of the Ray backend."""

from __future__ import annotations

import re

from townlet.core.errors import TownletError

__all__ = ["RolloutWorkerError", "WorkerNotStarted", "worker_failure"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class RolloutWorkerError(TownletError):
    """A worker failed: its env raised (the message carries the worker id and the
    original traceback), or it died more often than ``training.ray.max_restarts``."""


class WorkerNotStarted(RuntimeError):
    """Raised inside a worker asked to collect before :meth:`start`: the actor was
    restarted by Ray and its towns are gone, so the driver starts it again."""


def worker_failure(what: str, error: Exception) -> RolloutWorkerError:
    """A :class:`RolloutWorkerError` for an exception Ray brought back from a worker
    (a ``RayTaskError``): ``what`` (the worker), the original exception and its traceback."""
    cause = getattr(error, "cause", error)
    trace = _ANSI.sub("", str(error)).rstrip()  # Ray's text: the call, then the traceback
    return RolloutWorkerError(
        f"{what} raised {type(cause).__name__}: {cause}\n"
        f"Traceback (most recent call last, in the worker):\n{trace}"
    )
