"""The ``learned`` policy: a PPO checkpoint driving citizens in ``townlet run`` and ``evaluate``.

It rebuilds the checkpoint's encoder (name and params recorded in the
checkpoint; the rebuilt spec must hash the same) and network, encodes the
towns it is shown and picks, for every agent, the most probable legal option
(``greedy``) or, by default, a sample drawn with the policy RNG stream. Illegal options are
never chosen. After each call it keeps, per agent slot, the option
probabilities and value estimate of the last decision (:meth:`inspect`),
for the observer's policy inspector. With an LSTM the memory is stepped
whenever an agent's choice takes effect and cleared on ``ctx_reset_flag``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import torch
from pydantic import BaseModel, Field

from townlet.core.columns import OPTION_ACTIVE
from townlet.core.ports import OPTIONS, PLUGIN_API_VERSION, PluginParams, RowsView, WorldView
from townlet.core.registry import Registry
from townlet.core.world.rows import TownRows
from townlet.strategies.checkpoint import CheckpointError, check_compatible, load_checkpoint
from townlet.strategies.network import ActorCritic

__all__ = ["LearnedPolicy", "LearnedPolicyParams"]


class LearnedPolicyParams(PluginParams):
    """Which checkpoint to run, and how to choose."""

    checkpoint: Path = Field(
        description="A PPO checkpoint (.pt) or a training run directory (its checkpoints/final.pt)."
    )
    greedy: bool = Field(
        False,
        description="Pick the most probable legal option; false (the default) samples from the "
        "policy with the policy RNG stream, as in training (a briefly trained policy does much "
        "better sampled: docs/training.md).",
    )
    threads: int = Field(
        1,
        ge=0,
        le=256,
        description="torch CPU threads (0: leave torch's setting); 1 is fastest "
        "for the small batches of a running town.",
    )


class LearnedPolicy:
    """Runs a PPO checkpoint: an option for every agent, never a masked one."""

    Params: ClassVar[type[BaseModel]] = LearnedPolicyParams
    plugin_api_version: ClassVar[str] = PLUGIN_API_VERSION

    def __init__(self, params: LearnedPolicyParams, registry: Registry | None = None) -> None:
        self.params = params
        if params.threads:
            torch.set_num_threads(params.threads)
        ckpt = load_checkpoint(params.checkpoint)
        self.checkpoint = ckpt
        self.encoder: Any = (registry or Registry()).build(
            "observation_encoders", ckpt.encoder, ckpt.encoder_params
        )
        check_compatible(ckpt, self.encoder.spec, OPTIONS)
        hp = ckpt.hyperparameters
        self.net = ActorCritic(
            self.encoder.spec, len(OPTIONS), hidden=int(hp["hidden"]), lstm=bool(hp["lstm"])
        )
        try:
            self.net.load_state_dict(ckpt.model)
        except RuntimeError as e:
            raise CheckpointError(f"{ckpt.path}: weights do not fit the network: {e}") from e
        self.net.eval()
        self.generator = torch.Generator().manual_seed(0)
        self._state: tuple[torch.Tensor, torch.Tensor] | None = None
        self.probs: npt.NDArray[np.float32] = np.zeros((0, len(OPTIONS)), np.float32)
        """``[rows, options]`` option probabilities of each row's last decision."""
        self.values: npt.NDArray[np.float32] = np.zeros(0, np.float32)
        """``[rows]`` value estimate of each row's last decision."""

    def reset(self, world: WorldView, rng: np.random.Generator) -> None:
        """Forget memory and inspection; sample from ``rng`` (the policy RNG stream)."""
        self.generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        self._state = None
        self.probs = np.zeros((0, len(OPTIONS)), np.float32)
        self.values = np.zeros(0, np.float32)

    def act(self, world: WorldView) -> npt.NDArray[np.int64]:
        """One option per agent slot of one town."""
        return self.act_many(TownRows((world,)))  # type: ignore[arg-type]

    def act_many(self, rows: RowsView) -> npt.NDArray[np.int64]:
        """One option per row of one or many towns, in one batched forward."""
        return self.act_scored(rows)[0]

    def act_scored(
        self, rows: RowsView
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """``(options, values, log-probabilities)`` of every row."""
        n = rows.n_agents
        masks = (
            np.concatenate([w.action_masks() for w in rows.worlds])
            if n
            else np.zeros((0, len(OPTIONS)), bool)
        )
        obs = self.encoder.encode(rows)
        a = rows.agents
        if self._state is None or self._state[0].shape[0] != n:
            self._state = self.net.initial_state(n)
            self.probs = np.zeros((n, len(OPTIONS)), np.float32)
            self.values = np.zeros(n, np.float32)
        h, c = self._state
        if self.net.lstm is not None:
            fresh = torch.from_numpy(np.asarray(a.ctx_reset, bool))[:, None]
            h, c = torch.where(fresh, 0.0, h), torch.where(fresh, 0.0, c)
        # rows with nothing legal (empty slots) get a harmless mask; their choice is ignored
        safe = masks.copy()
        safe[~safe.any(axis=1), 0] = True
        with torch.no_grad():
            tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in obs.items()}
            act, logp, val, probs, new = self.net.act(
                tensors, torch.from_numpy(safe), (h, c), greedy=self.params.greedy,
                generator=self.generator,
            )  # fmt: skip
        if new is not None:  # memory advances only where the choice takes effect
            tick = np.repeat(
                np.array([w.tick for w in rows.worlds]), [w.n_agents for w in rows.worlds]
            )
            window = (
                rows.config.world.commit_window
                if hasattr(rows.config.world, "commit_window")
                else 15
            )
            free = (a.option_status != OPTION_ACTIVE) | (tick - a.option_since >= window)
            step = torch.from_numpy(np.asarray(a.alive & free, bool))[:, None]
            h, c = torch.where(step, new[0], h), torch.where(step, new[1], c)
        self._state = (h, c)
        self.probs = probs.numpy().astype(np.float32)
        self.values = val.numpy().astype(np.float32)
        return act.numpy().astype(np.int64), self.values, logp.numpy().astype(np.float32)

    def inspect(self, row: int) -> dict[str, Any]:
        """Option probabilities (by name) and value estimate of ``row``'s last decision."""
        return {
            "probabilities": dict(zip(OPTIONS, self.probs[row].tolist(), strict=True)),
            "value": float(self.values[row]),
        }
