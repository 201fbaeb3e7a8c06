"""Running mean and standard deviation (Chan et al.'s parallel update)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["RunningStats"]


@dataclass
class RunningStats:
    """Exact running mean/variance of every value ever added."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def update(self, values: npt.NDArray[np.floating]) -> None:
        """Fold a batch of values in."""
        n = int(values.size)
        if n == 0:
            return
        batch_mean = float(values.mean(dtype=np.float64))
        batch_m2 = float(((values - batch_mean) ** 2).sum(dtype=np.float64))
        self.merge(RunningStats(n, batch_mean, batch_m2))

    def merge(self, other: RunningStats) -> None:
        """Fold another accumulator in (e.g. from another town or process)."""
        if other.count == 0:
            return
        total = self.count + other.count
        delta = other.mean - self.mean
        self.mean += delta * other.count / total
        self.m2 += other.m2 + delta * delta * self.count * other.count / total
        self.count = total

    @property
    def var(self) -> float:
        """Population variance (0 before two values)."""
        return self.m2 / self.count if self.count > 1 else 0.0

    @property
    def std(self) -> float:
        """Population standard deviation."""
        return math.sqrt(self.var)

    def as_dict(self) -> dict[str, float]:
        """``{"count", "mean", "std"}`` for logging."""
        return {"count": float(self.count), "mean": self.mean, "std": self.std}


class RunningMoments:
    """Running mean/variance of several series at once (one per row of a batch)."""

    def __init__(self, size: int) -> None:
        self.count = 0
        self.mean = np.zeros(size, dtype=np.float64)
        self.m2 = np.zeros(size, dtype=np.float64)

    def update(self, values: npt.NDArray[np.floating]) -> None:
        """Fold a ``[size, n]`` batch in (``n`` new values per series)."""
        n = int(values.shape[1])
        if n == 0:
            return
        batch_mean = values.mean(axis=1, dtype=np.float64)
        batch_m2 = ((values - batch_mean[:, None]) ** 2).sum(axis=1, dtype=np.float64)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.m2 += batch_m2 + delta * delta * self.count * n / total
        self.count = total

    def series(self, i: int) -> RunningStats:
        """Row ``i`` as a :class:`RunningStats`."""
        return RunningStats(self.count, float(self.mean[i]), float(self.m2[i]))


class RunningSums:
    """Cheap running sums of several series, read as :class:`RunningStats`.

    Each tick adds a ``[size, n]`` batch masked by ``[n]`` weights in three
    array operations; means and variances come from the float64 sums.
    """

    def __init__(self, size: int) -> None:
        self.count = 0
        self.sum = np.zeros(size, dtype=np.float64)
        self.sumsq = np.zeros(size, dtype=np.float64)

    def add(self, values: npt.NDArray[np.floating], mask: npt.NDArray[np.bool_]) -> None:
        """Add the columns of ``values`` where ``mask`` is set."""
        w = mask.astype(np.float64)
        self.count += int(np.count_nonzero(mask))
        self.sum += values @ w
        self.sumsq += (values * values) @ w

    def series(self, i: int) -> RunningStats:
        """Row ``i`` as a :class:`RunningStats`."""
        if self.count == 0:
            return RunningStats()
        mean = float(self.sum[i]) / self.count
        m2 = max(0.0, float(self.sumsq[i]) - self.count * mean * mean)
        return RunningStats(self.count, mean, m2)
