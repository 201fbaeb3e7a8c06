"""Observation specs: what an encoder's arrays hold, named feature by feature.

An :class:`ObservationSpec` lists an encoder's components in order. Each
:class:`Component` has a per-agent shape, a dtype and either ordered vector
features (a 1-D component) or named channels (a ``[C, H, W]`` map). Every
feature and channel states its bounds, so an observation space can be built
from the spec and every value checked against it.

The spec serialises to canonical JSON; :attr:`ObservationSpec.hash` is the
first 16 hex digits of its sha256, stable across processes and machines, so
replay files and checkpoints can tell whether they hold the same layout.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Component", "Feature", "ObservationSpec"]


@dataclass(frozen=True, slots=True)
class Feature:
    """One named value of a vector component, or one channel of a map."""

    name: str
    low: float
    high: float
    description: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "description": self.description,
        }


@dataclass(frozen=True)
class Component:
    """A named array of an observation: a feature vector or a ``[C, H, W]`` map."""

    name: str
    shape: tuple[int, ...]
    """Per-agent shape (the encoded array has the agent slot as an extra first axis)."""
    features: tuple[Feature, ...]
    """Vector features in order (1-D components) or channels in order (maps)."""
    description: str
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if len(self.shape) == 1 and self.shape[0] != len(self.features):
            raise ValueError(f"{self.name}: shape {self.shape} but {len(self.features)} features")
        if len(self.shape) == 3 and self.shape[0] != len(self.features):
            raise ValueError(f"{self.name}: shape {self.shape} but {len(self.features)} channels")
        if len(self.shape) not in (1, 3):
            raise ValueError(f"{self.name}: components are vectors or [C, H, W] maps")
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate feature names")

    @property
    def is_map(self) -> bool:
        """Whether the component is a ``[C, H, W]`` map."""
        return len(self.shape) == 3

    @property
    def size(self) -> int:
        """Number of values per agent."""
        return int(np.prod(self.shape))

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names of a map (empty for vectors)."""
        return tuple(f.name for f in self.features) if self.is_map else ()

    def bounds(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Per-value ``(low, high)`` arrays of the per-agent shape."""
        low = np.array([f.low for f in self.features], dtype=np.float32)
        high = np.array([f.high for f in self.features], dtype=np.float32)
        if self.is_map:
            low = np.broadcast_to(low[:, None, None], self.shape).copy()
            high = np.broadcast_to(high[:, None, None], self.shape).copy()
        return low, high

    def feature_names(self) -> list[str]:
        """Flat value names in C order: ``comp.feature`` or ``comp.channel[row,col]``."""
        if not self.is_map:
            return [f"{self.name}.{f.name}" for f in self.features]
        _, h, w = self.shape
        rh, rw = h // 2, w // 2
        return [
            f"{self.name}.{f.name}[{r - rh:+d},{c - rw:+d}]"
            for f in self.features
            for r in range(h)
            for c in range(w)
        ]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "kind": "map" if self.is_map else "vector",
            "description": self.description,
            "features": [f.as_dict() for f in self.features],
        }


@dataclass(frozen=True)
class ObservationSpec:
    """The layout of one encoder's observations (see the module docstring)."""

    encoder: str
    version: str
    components: tuple[Component, ...]
    params: dict[str, Any] = field(default_factory=dict)
    """The encoder params that shape the layout (part of the hash)."""

    def __post_init__(self) -> None:
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.encoder}: duplicate component names {names}")

    def __getitem__(self, name: str) -> Component:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(f"{self.encoder} has no component {name!r}; it has {self.names}")

    @property
    def names(self) -> tuple[str, ...]:
        """Component names in order."""
        return tuple(c.name for c in self.components)

    @property
    def size(self) -> int:
        """Values per agent over every component (the flat observation length)."""
        return sum(c.size for c in self.components)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-agent shape of each component."""
        return {c.name: c.shape for c in self.components}

    def feature_names(self) -> list[str]:
        """Every value's name, in the order of :meth:`flatten`."""
        return [n for c in self.components for n in c.feature_names()]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (what the hash covers)."""
        return {
            "encoder": self.encoder,
            "version": self.version,
            "params": self.params,
            "components": [c.as_dict() for c in self.components],
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces)."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))

    @cached_property
    def hash(self) -> str:
        """Stable 16-hex-digit digest of the canonical JSON."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def allocate(self, n: int) -> dict[str, npt.NDArray[np.float32]]:
        """Zeroed, contiguous arrays for ``n`` agents, one per component."""
        return {c.name: np.zeros((n, *c.shape), dtype=c.dtype) for c in self.components}

    def flatten(self, arrays: dict[str, npt.NDArray[Any]]) -> npt.NDArray[np.float32]:
        """``[N, size]`` concatenation of the components in spec order."""
        n = next(iter(arrays.values())).shape[0]
        return np.concatenate(
            [arrays[c.name].reshape(n, c.size) for c in self.components], axis=1, dtype=np.float32
        )

    def violations(self, arrays: dict[str, npt.NDArray[Any]]) -> list[str]:
        """Every way ``arrays`` (first axis: agents) breaks the spec (empty when fine)."""
        out: list[str] = []
        if set(arrays) != set(self.names):
            out.append(f"components {sorted(arrays)} != spec {sorted(self.names)}")
            return out
        for comp in self.components:
            arr = arrays[comp.name]
            if arr.dtype != np.dtype(comp.dtype):
                out.append(f"{comp.name}: dtype {arr.dtype} != {comp.dtype}")
            if arr.shape[1:] != comp.shape:
                out.append(f"{comp.name}: shape {arr.shape[1:]} != {comp.shape}")
                continue
            if not np.isfinite(arr).all():
                out.append(f"{comp.name}: NaN or infinite values")
                continue
            low, high = comp.bounds()
            bad = (arr < low) | (arr > high)
            if bad.any():
                names = comp.feature_names()
                flat = bad.reshape(arr.shape[0], -1)
                idx = sorted({int(i) for i in np.flatnonzero(flat.any(axis=0))})
                shown = ", ".join(names[i] for i in idx[:5])
                out.append(f"{comp.name}: out of bounds: {shown}{' …' if len(idx) > 5 else ''}")
        return out
