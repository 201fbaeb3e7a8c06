"""Vectorised towns as a Stable-Baselines3 ``VecEnv``: every agent slot is one env.

:class:`TownVecEnv` hands SB3 (and sb3-contrib's ``MaskablePPO``) the rows of
a :class:`~townlet.core.env.VectorTownEnv` or
:class:`~townlet.core.env.SubprocVectorTownEnv` directly, one sub-env per
agent slot of every town, at the vector env's speed:

- observations: the flat ``Box`` of ``spec.feature_names()``, ``[rows, F]``;
- actions: ``Discrete(7)`` per row; ``action_masks()`` (``[rows, 7]`` bool,
  the hook ``MaskablePPO`` calls through ``env_method``) for the next step;
- ``dones``: the row's citizen left town (terminated) or its town reached the
  horizon (truncated, every row of the town, empty slots too; the town
  auto-resets); every done row's info has ``"terminal_observation"`` (zeros
  for a leaver) and ``"TimeLimit.truncated"`` (True at the horizon: bootstrap);
- an empty slot (its citizen left, no newcomer yet) shows zeros, allows only
  ``wait`` and earns 0; ``infos[row]`` says ``vacant``, ``possessed``
  (driven from the operator console), ``exited`` and ``arrived``: leave
  vacant and possessed rows' transitions out of training where you can.

Needs ``stable-baselines3`` (which brings torch); ``import townlet.core.env``
never imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    from stable_baselines3.common.vec_env import VecEnv
except ImportError as exc:
    raise ImportError(
        f"townlet.core.env.sb3 needs Stable-Baselines3 ({exc}); "
        "install it with: pip install stable-baselines3"
    ) from exc

from townlet.core.env._rows import earned_rewards, flat_rows, horizon_rows
from townlet.core.env.spaces import action_space, observation_space
from townlet.core.env.subproc import SubprocVectorTownEnv
from townlet.core.env.vector import VectorTownEnv
from townlet.core.world.options import OPTIONS

__all__ = ["TownVecEnv"]

StepReturn = tuple[
    npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_], list[dict[str, Any]]
]
"""Observations, rewards, dones and infos of every row (SB3's ``VecEnvStepReturn``)."""


class TownVecEnv(VecEnv):  # type: ignore[misc]  # SB3 is untyped for mypy here
    """A vector of towns as one SB3 ``VecEnv`` of ``num_towns × agents`` rows (see the
    module docstring). ``venv`` is reset on the first :meth:`reset` with the seed given
    to :meth:`seed` (SB3 passes the model's ``seed``), else a fresh one."""

    _seeds: list[int | None]
    reset_infos: list[dict[str, Any]]

    def __init__(self, venv: VectorTownEnv | SubprocVectorTownEnv) -> None:
        self.venv = venv
        self.spec = venv.spec
        super().__init__(
            venv.num_rows,
            observation_space(venv.spec, flatten=True, mask_in_obs=False),
            action_space(),
        )
        self._actions = np.zeros(venv.num_rows, dtype=np.int64)
        self._masks = np.zeros((venv.num_rows, len(OPTIONS)), dtype=bool)

    # -- the VecEnv API ------------------------------------------------------------

    def reset(self) -> npt.NDArray[np.float32]:
        """Reset every town (town ``g`` with seed ``s + g`` after ``seed(s)``)."""
        obs, info = self.venv.reset(seed=self._seeds[0])
        self._seeds = [None] * self.num_envs
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self._observe(obs, info)

    def step_async(self, actions: npt.NDArray[Any]) -> None:
        """Keep one option per row for :meth:`step_wait`."""
        self._actions[:] = actions

    def step_wait(self) -> StepReturn:
        """One tick of every town; auto-resets towns at the horizon."""
        obs, rewards, term, _, info = self.venv.step(self._actions)
        truncated, final = horizon_rows(self.spec, term, info)
        vacant = ~info["alive"]
        infos: list[dict[str, Any]] = [
            {"possessed": p, "vacant": v, "exited": e, "arrived": a}
            for p, v, e, a in zip(
                info["possessed"].tolist(),
                vacant.tolist(),
                term.tolist(),
                info["spawned"].tolist(),
                strict=True,
            )
        ]
        dones = term | truncated
        reset_rows = info["final_mask"]
        for row in np.flatnonzero(dones).tolist():  # every done row, as SB3's own VecEnvs do
            if final is not None and reset_rows[row]:
                infos[row]["terminal_observation"] = final[row]
            else:  # its citizen left: the slot shows zeros
                infos[row]["terminal_observation"] = np.zeros(self.spec.size, dtype=np.float32)
            infos[row]["TimeLimit.truncated"] = bool(truncated[row])
        return self._observe(obs, info), earned_rewards(rewards, info), dones, infos

    def action_masks(self) -> npt.NDArray[np.bool_]:
        """``[rows, 7]``: the options each row may take next (only ``wait`` when vacant)."""
        return self._masks.copy()

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: int | Iterable[int] | None = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        """``env_method("action_masks")``: each row's mask (how ``MaskablePPO`` asks)."""
        if method_name != "action_masks":
            raise AttributeError(f"TownVecEnv rows have no method {method_name!r}")
        return [self._masks[i].copy() for i in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices: int | Iterable[int] | None = None) -> list[Any]:
        """``render_mode`` (None) and ``action_masks`` per row; nothing else."""
        rows = self._get_indices(indices)
        if attr_name == "render_mode":
            return [None for _ in rows]
        if attr_name == "action_masks":
            return [self.action_masks for _ in rows]
        raise AttributeError(f"TownVecEnv rows have no attribute {attr_name!r}")

    def set_attr(
        self, attr_name: str, value: Any, indices: int | Iterable[int] | None = None
    ) -> None:
        """Rows share their towns: per-row attributes cannot be set."""
        raise AttributeError(f"TownVecEnv rows cannot set {attr_name!r}")

    def env_is_wrapped(
        self, wrapper_class: type, indices: int | Iterable[int] | None = None
    ) -> list[bool]:
        """No row is wrapped in a gymnasium wrapper."""
        return [False for _ in self._get_indices(indices)]

    def close(self) -> None:
        """Close the vector env (stops a subprocess env's workers)."""
        self.venv.close()

    # -- internals -----------------------------------------------------------------

    def _observe(
        self, obs: dict[str, npt.NDArray[Any]], info: dict[str, Any]
    ) -> npt.NDArray[np.float32]:
        """Flat observations (a fresh array); keeps the next-step masks."""
        flat, self._masks, _ = flat_rows(self.spec, obs, info)
        return flat

    def _get_indices(self, indices: int | Iterable[int] | None) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return list(indices)
