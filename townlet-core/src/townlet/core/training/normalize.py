"""Running statistics and the observation normaliser hook of replay datasets.

:class:`RunningMoments` merges batches with Chan et al.'s parallel update
(https://en.wikipedia.org/wiki/Algorithms_for_calculating_variance#Parallel_algorithm),
so one pass over a streamed dataset gives exact means and variances without
holding it. :class:`ObsNormalizer` keeps one per observation component and,
called on a batch, returns it with every ``obs.<component>`` standardised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ObsNormalizer", "RunningMoments"]

F64 = npt.NDArray[np.float64]


class RunningMoments:
    """Count, mean, variance, min and max per position of a trailing shape."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.count = 0
        self.mean: F64 = np.zeros(shape)
        self.m2: F64 = np.zeros(shape)
        self.min: F64 = np.full(shape, np.inf)
        self.max: F64 = np.full(shape, -np.inf)

    def update(self, x: npt.ArrayLike) -> None:
        """Add the rows of ``x`` (shape ``[n, *shape]``)."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape[1:] != self.shape:
            raise ValueError(f"rows of shape {arr.shape[1:]} != {self.shape}")
        n = arr.shape[0]
        if n == 0:
            return
        mean = arr.mean(axis=0)
        m2 = ((arr - mean) ** 2).sum(axis=0)
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
        self.min = np.minimum(self.min, arr.min(axis=0))
        self.max = np.maximum(self.max, arr.max(axis=0))
        self.count = total

    @property
    def var(self) -> F64:
        """Population variance (zeros before any data)."""
        return self.m2 / self.count if self.count else np.zeros(self.shape)

    @property
    def std(self) -> F64:
        """Population standard deviation."""
        return np.sqrt(self.var)

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state (for checkpoints)."""
        return {
            "shape": list(self.shape),
            "count": self.count,
            "mean": self.mean.tolist(),
            "m2": self.m2.tolist(),
            "min": self.min.tolist(),
            "max": self.max.tolist(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RunningMoments:
        """Rebuild from :meth:`state_dict`."""
        out = cls(tuple(state["shape"]))
        out.count = int(state["count"])
        for name in ("mean", "m2", "min", "max"):
            setattr(out, name, np.asarray(state[name], dtype=np.float64).reshape(out.shape))
        return out


class ObsNormalizer:
    """Standardises ``obs.<component>`` arrays: ``clip((x − mean) / (std + eps))``.

    Fit it with :meth:`update` (or :meth:`fit` over batches), then pass it as
    ``normalize=`` to :meth:`ReplayDataset.iter_batches`. Components not
    named in ``shapes`` pass through unchanged.
    """

    def __init__(
        self, shapes: Mapping[str, tuple[int, ...]], *, eps: float = 1e-8, clip: float = 10.0
    ) -> None:
        self.moments = {name: RunningMoments(shape) for name, shape in shapes.items()}
        self.eps = eps
        self.clip = clip

    def update(self, batch: Mapping[str, npt.NDArray[Any]]) -> None:
        """Add a batch's observations to the statistics."""
        for name, moments in self.moments.items():
            moments.update(batch[f"obs.{name}"])

    def fit(self, batches: Iterable[Mapping[str, npt.NDArray[Any]]]) -> ObsNormalizer:
        """Update with every batch; returns self."""
        for batch in batches:
            self.update(batch)
        return self

    def __call__(self, batch: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        out = dict(batch)
        for name, moments in self.moments.items():
            key = f"obs.{name}"
            x = batch[key].astype(np.float32)
            mean = moments.mean.astype(np.float32)
            scale = (moments.std + self.eps).astype(np.float32)
            out[key] = np.clip((x - mean) / scale, -self.clip, self.clip)
        return out
