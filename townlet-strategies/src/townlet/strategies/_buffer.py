"""Decision transitions of one epoch and their advantages (semi-MDP GAE).

One transition is one agent's decision: the observation and mask it decided
on, the option, its log-probability and value, then everything up to the
agent's next decision — the rewards in between summed with per-tick
discounting (``reward``), the discount to the next decision ``γ^τ``
(``discount``, ``τ`` ticks later), and either a link to that next decision
(``next``), a bootstrap value (``boot``: truncation by the episode horizon
or the end of the rollout) or a termination (``done``: the agent left town).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Transitions", "gae"]

Array = npt.NDArray[Any]


@dataclass
class Transitions:
    """Growable columns of decision transitions (numpy; see the module docstring)."""

    obs: dict[str, Array]
    mask: Array
    action: Array = field(default_factory=lambda: np.zeros(0, np.int64))
    logprob: Array = field(default_factory=lambda: np.zeros(0, np.float32))
    value: Array = field(default_factory=lambda: np.zeros(0, np.float32))
    reward: Array = field(default_factory=lambda: np.zeros(0, np.float32))
    discount: Array = field(default_factory=lambda: np.zeros(0, np.float32))
    boot: Array = field(default_factory=lambda: np.zeros(0, np.float32))
    next: Array = field(default_factory=lambda: np.zeros(0, np.int64))
    done: Array = field(default_factory=lambda: np.zeros(0, bool))
    state_h: Array | None = None
    state_c: Array | None = None
    size: int = 0
    groups: list[int] = field(default_factory=list)
    """Start index of each append (one per tick): transitions of later groups
    never link back to earlier ones, so GAE runs group by group in reverse."""

    @classmethod
    def allocate(
        cls,
        shapes: Mapping[str, tuple[tuple[int, ...], str]],
        n_options: int,
        capacity: int,
        hidden: int = 0,
    ) -> Transitions:
        """Empty columns with room for ``capacity`` transitions (grown when needed)."""
        obs = {k: np.zeros((capacity, *s), dtype=d) for k, (s, d) in shapes.items()}
        out = cls(obs=obs, mask=np.zeros((capacity, n_options), bool))
        for name in ("action", "next"):
            setattr(out, name, np.zeros(capacity, np.int64))
        for name in ("logprob", "value", "reward", "discount", "boot"):
            setattr(out, name, np.zeros(capacity, np.float32))
        out.done = np.zeros(capacity, bool)
        if hidden:
            out.state_h = np.zeros((capacity, hidden), np.float32)
            out.state_c = np.zeros((capacity, hidden), np.float32)
        return out

    def _columns(self) -> dict[str, Array]:
        cols = {f"obs.{k}": v for k, v in self.obs.items()}
        cols.update(
            mask=self.mask, action=self.action, logprob=self.logprob, value=self.value,
            reward=self.reward, discount=self.discount, boot=self.boot, next=self.next,
            done=self.done,
        )  # fmt: skip
        if self.state_h is not None and self.state_c is not None:
            cols.update(state_h=self.state_h, state_c=self.state_c)
        return cols

    def _set_columns(self, cols: Mapping[str, Array]) -> None:
        self.obs = {k[4:]: v for k, v in cols.items() if k.startswith("obs.")}
        for k, v in cols.items():
            if not k.startswith("obs."):
                setattr(self, k, v)

    def reserve(self, n: int) -> slice:
        """Room for ``n`` more transitions (doubling when full); their index slice."""
        need = self.size + n
        if need > self.action.shape[0]:
            cap = max(need, 2 * self.action.shape[0])
            grown = {}
            for k, v in self._columns().items():
                g = np.zeros((cap, *v.shape[1:]), dtype=v.dtype)
                g[: self.size] = v[: self.size]
                grown[k] = g
            self._set_columns(grown)
        span = slice(self.size, need)
        self.groups.append(self.size)
        self.size = need
        self.next[span] = -1
        self.done[span] = False
        self.reward[span] = 0.0
        self.discount[span] = 1.0
        self.boot[span] = 0.0
        return span

    def view(self) -> dict[str, Array]:
        """Every column cut to the transitions held."""
        return {k: v[: self.size] for k, v in self._columns().items()}


def gae(
    t: Mapping[str, Array], groups: list[int], gae_lambda: float
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``(advantages, returns)`` by GAE(λ) over decision transitions ``t``
    (:meth:`Transitions.view`), with ``γ^τ`` per transition.

    ``δ = reward + discount·V(next) − V`` (``V(next)``: the linked decision's
    value, else ``boot``; 0 after ``done``) and ``A = δ + discount·λ·A(next)``
    (https://arxiv.org/abs/1506.02438, with the SMDP discount ``γ^τ``).
    """
    n = len(t["action"])
    value = t["value"].astype(np.float64)
    nxt, done = t["next"], t["done"]
    disc = t["discount"].astype(np.float64)
    adv = np.zeros(n, np.float64)
    bounds = [*groups, n]
    for g in range(len(groups) - 1, -1, -1):
        lo, hi = bounds[g], bounds[g + 1]
        if lo == hi:
            continue
        j = nxt[lo:hi]
        linked = j >= 0
        jj = np.where(linked, j, 0)
        v_next = np.where(linked, value[jj] if n else 0.0, t["boot"][lo:hi])
        v_next = np.where(done[lo:hi], 0.0, v_next)
        delta = t["reward"][lo:hi] + disc[lo:hi] * v_next - value[lo:hi]
        adv[lo:hi] = delta + np.where(linked, disc[lo:hi] * gae_lambda * adv[jj], 0.0)
    return adv.astype(np.float32), (adv + value).astype(np.float32)
