"""Replay data as PPO transitions: captured ticks, linked per agent, scored by the current net.

Captured samples (``townlet capture``) hold one transition per row and tick,
not decisions, so replay learns per tick: the transitions of one agent in
one episode are linked tick to tick with discount ``γ`` (the per-tick
treatment). Log-probabilities and values are those of the network at the
start of the epoch, so the clipped update stays a trust-region step around
the current policy whichever policy captured the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from townlet.core.errors import TownletError
from townlet.core.training.replay import ReplayDataset
from townlet.strategies.network import ActorCritic

__all__ = ["ReplayTransitions"]

Array = npt.NDArray[Any]
_NEEDED = ("episode", "row", "tick")


class ReplayTransitions:
    """The decisions (acted, not possessed) of a replay dataset, linked for GAE."""

    def __init__(self, dataset: ReplayDataset, gamma: float, reward_scale: float) -> None:
        arrays = dataset.arrays
        missing = [k for k in _NEEDED if k not in arrays]
        if missing:
            raise TownletError(
                f"replay samples lack {', '.join(missing)}: PPO links an agent's ticks by "
                "episode, row and tick; capture them again with townlet capture"
            )
        keep = (arrays["acted"] & ~arrays["possessed"]).nonzero()[0]
        order = np.lexsort((arrays["tick"][keep], arrays["row"][keep], arrays["episode"][keep]))
        idx = keep[order]
        self.obs = {k[4:]: v[idx] for k, v in arrays.items() if k.startswith("obs.")}
        self.mask = arrays["masks"][idx]
        self.action = arrays["actions"][idx]
        self.reward = (arrays["rewards"][idx] * reward_scale).astype(np.float32)
        ep, row, tick = (arrays[k][idx] for k in _NEEDED)
        same = (ep[1:] == ep[:-1]) & (row[1:] == row[:-1]) & (tick[1:] == tick[:-1] + 1)
        n = idx.size
        self.linked = np.zeros(n, bool)
        self.linked[:-1] = same
        self.done = arrays["terminated"][idx]
        self.gamma = gamma
        self.size = n

    def score(
        self, net: ActorCritic, device: torch.device, batch: int = 4096
    ) -> tuple[Array, Array]:
        """``(logprobs, values)`` of every transition under ``net`` (no gradient)."""
        logp = np.zeros(self.size, np.float32)
        value = np.zeros(self.size, np.float32)
        with torch.no_grad():
            for lo in range(0, self.size, batch):
                hi = min(lo + batch, self.size)
                obs = {k: torch.from_numpy(v[lo:hi]).to(device) for k, v in self.obs.items()}
                mask = torch.from_numpy(self.mask[lo:hi]).to(device)
                logits, v, _ = net(obs, mask)
                act = torch.from_numpy(self.action[lo:hi]).to(device)
                logp[lo:hi] = torch.log_softmax(logits, -1).gather(1, act[:, None]).squeeze(1).cpu()
                value[lo:hi] = v.cpu()
        return logp, value

    def advantages(self, value: Array, gae_lambda: float) -> tuple[Array, Array]:
        """``(advantages, returns)`` by per-tick GAE(λ); an unlinked, unterminated last
        tick (the capture or episode ended) bootstraps from its own value."""
        adv = np.zeros(self.size, np.float64)
        last = 0.0
        g, lam = self.gamma, gae_lambda
        reward, linked, done = self.reward.tolist(), self.linked.tolist(), self.done.tolist()
        v = value.astype(np.float64).tolist()
        for i in range(self.size - 1, -1, -1):
            if done[i]:
                v_next, last = 0.0, 0.0
            elif linked[i]:
                v_next = v[i + 1]
            else:
                v_next, last = v[i], 0.0
            last = reward[i] + g * v_next - v[i] + g * lam * last
            adv[i] = last
        return adv.astype(np.float32), (adv + value).astype(np.float32)

    def take(self, index: Array) -> dict[str, Array]:
        """Observation and mask columns of ``index`` (named like the rollout batch)."""
        out = {f"obs.{k}": v[index] for k, v in self.obs.items()}
        out["mask"] = self.mask[index]
        out["action"] = self.action[index]
        return out
