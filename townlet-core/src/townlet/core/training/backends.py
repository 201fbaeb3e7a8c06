"""Where rollouts and evaluation episodes run: this process, or Ray actors.

``training.backend: ray`` and ``townlet evaluate --backend ray`` use the
Ray backend of townlet-strategies' ``[ray]`` extra. townlet-core never
imports ray: :func:`load_ray_backend` finds the backend on first use and
raises one clear :class:`BackendUnavailable` when the extra is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Final

from townlet.core.errors import TownletError

__all__ = ["BACKENDS", "RAY_BACKEND_MODULE", "RAY_EXTRA", "BackendUnavailable", "load_ray_backend"]

BACKENDS: Final = ("local", "ray")
"""Backend names accepted by ``training.backend`` and ``townlet evaluate --backend``."""
RAY_EXTRA: Final = "townlet-strategies[ray]"
"""The distribution extra that brings Ray and the backend."""
RAY_BACKEND_MODULE: Final = "townlet.strategies.ray"
"""The module implementing the Ray backend."""


class BackendUnavailable(TownletError):
    """The chosen backend's package is not installed."""


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ImportError:  # a parent package is missing
        return True


def load_ray_backend(what: str) -> ModuleType:
    """The Ray backend module; :class:`BackendUnavailable` naming the extra when it (or ray)
    is not installed. ``what`` names what asked for it, e.g. ``"training.backend: ray"``."""
    if _missing("ray") or _missing(RAY_BACKEND_MODULE):
        raise BackendUnavailable(
            f"{what} runs on Ray, which is not installed here. Install the extra that brings "
            f"Ray and Townlet's Ray backend with: pip install '{RAY_EXTRA}' (on a Ray cluster, "
            "on every node), or run without Ray: training.backend: local for training, "
            "--backend local for townlet evaluate. See docs/scale-out.md."
        )
    return importlib.import_module(RAY_BACKEND_MODULE)
