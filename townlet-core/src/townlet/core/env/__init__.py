"""Environment APIs: a PettingZoo ``ParallelEnv`` and vectorised towns.

``TownletParallelEnv`` and its fixed-slot view ``SlotParallelEnv`` need the
``env`` extra (``pip install townlet-core[env]``: pettingzoo and gymnasium);
they are imported on first use, so ``import townlet.core.env`` works without
them. ``VectorTownEnv`` and ``SubprocVectorTownEnv`` need only numpy.
``townlet.core.env.sb3`` and ``townlet.core.env.torchrl_env`` hand vectorised
towns to Stable-Baselines3 and TorchRL; they import those libraries (and
torch), so nothing here imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from townlet.core.env._town import ConfigSource, StepResult, Town, resolve_config
from townlet.core.env.subproc import SubprocVectorTownEnv
from townlet.core.env.vector import VectorTownEnv

if TYPE_CHECKING:
    from townlet.core.env.parallel import TownletParallelEnv
    from townlet.core.env.slots import SlotParallelEnv

__all__ = [
    "ConfigSource",
    "SlotParallelEnv",
    "StepResult",
    "SubprocVectorTownEnv",
    "Town",
    "TownletParallelEnv",
    "VectorTownEnv",
    "parallel_env",
    "resolve_config",
]


def __getattr__(name: str) -> Any:
    if name in ("TownletParallelEnv", "SlotParallelEnv"):
        try:
            from townlet.core.env import parallel, slots
        except ImportError as exc:  # pettingzoo or gymnasium missing
            raise ImportError(
                f"{name} needs pettingzoo and gymnasium ({exc}); "
                "install them with: pip install 'townlet-core[env]'"
            ) from exc
        found: Any = getattr(parallel, name, None) or getattr(slots, name)
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parallel_env(**kwargs: Any) -> TownletParallelEnv:
    """PettingZoo-style constructor: ``parallel_env(horizon=500, encoder="full")``."""
    cls = __getattr__("TownletParallelEnv")
    env: TownletParallelEnv = cls(**kwargs)
    return env
