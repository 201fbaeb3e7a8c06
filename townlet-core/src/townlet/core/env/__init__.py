"""Environment APIs: a PettingZoo ``ParallelEnv`` and vectorised towns.

``TownletParallelEnv`` needs the ``env`` extra (``pip install
townlet-core[env]``: pettingzoo and gymnasium); it is imported on first use,
so ``import townlet.core.env`` works without them. ``VectorTownEnv`` and
``SubprocVectorTownEnv`` need only numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from townlet.core.env._town import ConfigSource, StepResult, Town, resolve_config
from townlet.core.env.subproc import SubprocVectorTownEnv
from townlet.core.env.vector import VectorTownEnv

if TYPE_CHECKING:
    from townlet.core.env.parallel import TownletParallelEnv

__all__ = [
    "ConfigSource",
    "StepResult",
    "SubprocVectorTownEnv",
    "Town",
    "TownletParallelEnv",
    "VectorTownEnv",
    "parallel_env",
    "resolve_config",
]


def __getattr__(name: str) -> Any:
    if name == "TownletParallelEnv":
        try:
            from townlet.core.env.parallel import TownletParallelEnv
        except ImportError as exc:  # pettingzoo or gymnasium missing
            raise ImportError(
                f"TownletParallelEnv needs pettingzoo and gymnasium ({exc}); "
                "install them with: pip install 'townlet-core[env]'"
            ) from exc
        return TownletParallelEnv
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parallel_env(**kwargs: Any) -> TownletParallelEnv:
    """PettingZoo-style constructor: ``parallel_env(horizon=500, encoder="full")``."""
    cls = __getattr__("TownletParallelEnv")
    env: TownletParallelEnv = cls(**kwargs)
    return env
