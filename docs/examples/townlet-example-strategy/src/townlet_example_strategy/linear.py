"""A linear option policy on the encoder's scalar features, and its files.

The policy scores every option as ``[x, 1] @ W`` where ``x`` holds the
selected ``scalars`` features of a row; illegal options are masked out and
the best legal one is taken. Its parameters are saved as ``NAME.npz``
(``W``) with a ``NAME.json`` sidecar recording what ``W`` means: the
encoder and its params, the spec hash, the feature names and the options.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.observations.spec import ObservationSpec

COMPONENT = "scalars"
"""The spec component the policy reads."""

DEFAULT_FEATURES = ("need.", "money.", "item.", "work.", "shift.", "time.", "status.")
"""Prefixes of the scalar features used by default: needs, money, items, work and time."""


def feature_indices(spec: ObservationSpec, prefixes: Sequence[str]) -> list[int]:
    """Columns of the ``scalars`` component whose feature name starts with a prefix."""
    names = [f.name for f in spec[COMPONENT].features]
    picked = [i for i, name in enumerate(names) if name.startswith(tuple(prefixes))]
    if not picked:
        raise ValueError(f"no '{COMPONENT}' feature starts with any of {list(prefixes)}")
    return picked


def act(
    weights: npt.NDArray[np.float64],
    features: npt.NDArray[Any],
    masks: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int64]:
    """The best legal option per row.

    ``features`` is ``[R, F]``; ``weights`` is ``[F + 1, options]`` (the last
    row is the bias), or ``[R, F + 1, options]``: one matrix per row.
    """
    if weights.ndim == 3:
        logits = np.einsum("rf,rfo->ro", features, weights[:, :-1]) + weights[:, -1]
    else:
        logits = features @ weights[:-1] + weights[-1]
    logits = np.where(masks, logits, -np.inf)
    best: npt.NDArray[np.int64] = np.argmax(logits, axis=1).astype(np.int64)
    return best


@dataclass(frozen=True)
class LinearPolicyFile:
    """A saved linear policy: its weights and what they were trained on."""

    weights: npt.NDArray[np.float64]
    encoder: str
    encoder_params: Mapping[str, Any]
    spec_hash: str
    features: tuple[str, ...]
    options: tuple[str, ...]
    meta: Mapping[str, Any]

    def save(self, path: Path) -> Path:
        """Write ``path`` (``.npz``) and its ``.json`` sidecar; return the ``.npz`` path."""
        path = path.with_suffix(".npz")
        np.savez(path, weights=self.weights)
        sidecar = {
            "encoder": self.encoder,
            "encoder_params": dict(self.encoder_params),
            "spec_hash": self.spec_hash,
            "features": list(self.features),
            "options": list(self.options),
            **self.meta,
        }
        path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> LinearPolicyFile:
        """Read a saved policy (either file, or the bare name)."""
        path = path.with_suffix(".npz")
        sidecar = json.loads(path.with_suffix(".json").read_text())
        with np.load(path) as npz:
            weights = np.asarray(npz["weights"], dtype=np.float64)
        known = {"encoder", "encoder_params", "spec_hash", "features", "options"}
        return cls(
            weights=weights,
            encoder=sidecar["encoder"],
            encoder_params=sidecar["encoder_params"],
            spec_hash=sidecar["spec_hash"],
            features=tuple(sidecar["features"]),
            options=tuple(sidecar["options"]),
            meta={k: v for k, v in sidecar.items() if k not in known},
        )
