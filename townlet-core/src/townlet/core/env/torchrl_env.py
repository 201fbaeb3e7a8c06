"""Vectorised towns as one batched TorchRL env: every agent slot is one batch element.

:class:`TownTorchRLEnv` hands TorchRL the rows of a
:class:`~townlet.core.env.VectorTownEnv` or
:class:`~townlet.core.env.SubprocVectorTownEnv` as one env of batch size
``[rows]``, at the vector env's speed (TorchRL's ``PettingZooWrapper`` converts
one agent at a time). Per row:

- ``"observation"``: the flat ``spec.feature_names()`` vector; ``"action_mask"``
  (bool, 7) for the next step, also set on the action spec, so
  ``rand_action`` and masked distributions respect it;
- ``"action"``: one option; ``("next", "reward")``; ``done``, ``terminated``
  (the row's citizen left town) and ``truncated`` (its town reached the
  horizon, every row of it, empty slots too: ``("next", "observation")`` is
  then the episode's last, and the
  reset TorchRL asks for next returns the new episode's first);
- ``"vacant"``, ``"possessed"``, ``"exited"``, ``"arrived"`` (bool): an empty
  slot shows zeros, allows only ``wait`` and earns 0; leave vacant and
  possessed rows' transitions out of training.

The towns reset themselves (a town at its horizon, a slot whose citizen
left), so a reset of some rows, as TorchRL's collectors and ``rollout`` make
after a ``done``, hands back the rows as they are; ``reset()`` with no
``"_reset"`` entry starts every town afresh (with the seed of
``set_seed``, else a fresh one). Needs ``torchrl`` (which brings torch);
``import townlet.core.env`` never imports this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

try:
    import torch
    from tensordict import TensorDict, TensorDictBase
    from torchrl.data import Bounded, Categorical, Composite, Unbounded
    from torchrl.envs import EnvBase
except ImportError as exc:
    raise ImportError(
        f"townlet.core.env.torchrl_env needs TorchRL ({exc}); install it with: pip install torchrl"
    ) from exc

from townlet.core.env._rows import earned_rewards, flat_rows, horizon_rows
from townlet.core.env.subproc import SubprocVectorTownEnv
from townlet.core.env.vector import VectorTownEnv
from townlet.core.world.options import OPTIONS

__all__ = ["TownTorchRLEnv"]

FLAGS = ("vacant", "possessed", "exited", "arrived")
"""Per-row bool entries beside the observation."""


class TownTorchRLEnv(EnvBase):  # type: ignore[misc]  # TorchRL is untyped for mypy here
    """A vector of towns as one TorchRL env of batch size ``[num_towns × agents]`` (see
    the module docstring)."""

    def __init__(self, venv: VectorTownEnv | SubprocVectorTownEnv) -> None:
        rows = venv.num_rows
        super().__init__(device="cpu", batch_size=torch.Size([rows]))
        self.venv = venv
        self.spec_of_obs = venv.spec
        """The towns' observation spec (``observation`` is its flat form)."""
        low, high = (
            np.concatenate([np.ravel(b) for b in bounds]).astype(np.float32)
            for bounds in zip(*(c.bounds() for c in venv.spec.components), strict=True)
        )
        n = len(OPTIONS)
        flag = Categorical(n=2, shape=(rows,), dtype=torch.bool)
        self.observation_spec = Composite(
            observation=Bounded(
                low=torch.as_tensor(np.tile(low, (rows, 1))),
                high=torch.as_tensor(np.tile(high, (rows, 1))),
                shape=(rows, low.size),
                dtype=torch.float32,
            ),
            action_mask=Categorical(n=2, shape=(rows, n), dtype=torch.bool),
            **{name: flag.clone() for name in FLAGS},
            shape=(rows,),
        )
        self.action_spec = Categorical(n=n, shape=(rows,), dtype=torch.int64)
        self.reward_spec = Unbounded(shape=(rows, 1), dtype=torch.float32)
        done = Categorical(n=2, shape=(rows, 1), dtype=torch.bool)
        self.done_spec = Composite(
            done=done.clone(), terminated=done.clone(), truncated=done.clone(), shape=(rows,)
        )
        self._seed: int | None = None
        self._current: dict[str, torch.Tensor] = {}

    # -- the EnvBase hooks ---------------------------------------------------------

    def _set_seed(self, seed: int | None) -> None:
        """The seed of the next full reset (town ``g`` starts from ``seed + g``)."""
        self._seed = seed

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        """Every town afresh; or, when TorchRL resets some rows (``"_reset"``), the rows
        as they are: their towns have already reset themselves."""
        partial = tensordict is not None and "_reset" in tensordict.keys()  # noqa: SIM118  # a TensorDict refuses `in`
        if not self._current or not partial:
            obs, info = self.venv.reset(seed=self._seed)
            self._seed = None
            none = np.zeros(self.venv.num_rows, dtype=bool)
            self._current = self._observe(obs, info, none, none)
        rows = self.venv.num_rows
        out = TensorDict(dict(self._current), batch_size=[rows])
        out["exited"] = torch.zeros(rows, dtype=torch.bool)  # the slot's next episode starts
        for key in ("done", "terminated", "truncated"):
            out[key] = torch.zeros(rows, 1, dtype=torch.bool)
        return out

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        """One tick of every town with one option per row."""
        actions = tensordict["action"].numpy().astype(np.int64, copy=False)
        obs, rewards, term, _, info = self.venv.step(actions)
        truncated, final = horizon_rows(self.spec_of_obs, term, info)
        self._current = self._observe(obs, info, term, info["spawned"])
        out = dict(self._current)
        if final is not None:  # the last observation of a finished episode, not the next one's
            rows = info["final_mask"]
            last = out["observation"].clone()
            last[torch.as_tensor(rows)] = torch.as_tensor(final[rows])
            out["observation"] = last
        out["reward"] = torch.as_tensor(earned_rewards(rewards, info))[:, None]
        out["terminated"] = torch.as_tensor(term.copy())[:, None]
        out["truncated"] = torch.as_tensor(truncated)[:, None]
        out["done"] = out["terminated"] | out["truncated"]
        return TensorDict(out, batch_size=[self.venv.num_rows])

    # -- internals -----------------------------------------------------------------

    def _observe(
        self,
        obs: dict[str, npt.NDArray[Any]],
        info: dict[str, Any],
        exited: npt.NDArray[np.bool_],
        arrived: npt.NDArray[np.bool_],
    ) -> dict[str, torch.Tensor]:
        """The rows now (fresh tensors); vacant rows zeroed and allowed only ``wait``."""
        flat, masks, vacant = flat_rows(self.spec_of_obs, obs, info)
        mask = torch.as_tensor(masks)
        self.action_spec.update_mask(mask.clone())
        return {
            "observation": torch.as_tensor(flat),
            "action_mask": mask,
            "vacant": torch.as_tensor(vacant),
            "possessed": torch.as_tensor(info["possessed"].copy()),
            "exited": torch.as_tensor(np.asarray(exited).copy()),
            "arrived": torch.as_tensor(np.asarray(arrived).copy()),
        }
