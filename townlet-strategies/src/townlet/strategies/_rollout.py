"""Rollouts at decision points: every row of a vector env, one batched forward per tick.

An agent *decides* on a tick when its choice can take effect: it is in
town, not driven from the console, and its option has ended or has run past
the commitment window (``world.commit_window``); otherwise the world ignores
what the policy says. Only deciding rows go through the network, and each
decision opens a transition that collects the discounted rewards until the
row's next decision (docs/training.md, "Decisions, not ticks").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import torch

from townlet.core.env.vector import VectorTownEnv
from townlet.core.training.decisions import deciding_rows
from townlet.strategies._buffer import Transitions
from townlet.strategies.network import ActorCritic

__all__ = ["DecisionCollector", "deciding_rows"]

_CAPACITY: Final = 4096


@dataclass
class DecisionCollector:
    """Steps ``env`` with ``net`` and records decision transitions (state kept across epochs).

    ``reward_scale`` multiplies rewards for learning (returns are logged
    unscaled); ``gamma`` is the discount per tick.
    """

    env: VectorTownEnv
    net: ActorCritic
    gamma: float
    reward_scale: float
    generator: torch.Generator
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    pend: npt.NDArray[np.int64] = field(init=False)
    disc: npt.NDArray[np.float64] = field(init=False)
    ep_return: npt.NDArray[np.float64] = field(init=False)
    state: tuple[torch.Tensor, torch.Tensor] = field(init=False)
    episode_returns: list[float] = field(default_factory=list)
    agent_steps: int = 0
    conflicts: int = 0
    """Queue conflicts in the towns since the caller last reset it (epoch records)."""
    conflict_intensity: float = 0.0

    def __post_init__(self) -> None:
        n = self.env.num_rows
        self.pend = np.full(n, -1, np.int64)
        self.disc = np.ones(n, np.float64)
        self.ep_return = np.zeros(n, np.float64)
        self.state = self.net.initial_state(n)

    def _tensors(
        self, arrays: dict[str, Any], rows: npt.NDArray[np.int64]
    ) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(v[rows]).to(self.device) for k, v in arrays.items()}

    def _value(
        self, arrays: dict[str, Any], rows: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float32]:
        """Values of ``rows``' observations in ``arrays`` (bootstraps; LSTM state not advanced)."""
        mask = torch.ones(
            rows.size, self.net.actor.out_features, dtype=torch.bool, device=self.device
        )
        h, c = self.state
        with torch.no_grad():
            _, v, _ = self.net(self._tensors(arrays, rows), mask, (h[rows], c[rows]))
        return np.asarray(v.cpu().numpy(), dtype=np.float32)

    def collect(self, ticks: int) -> Transitions:
        """Roll out ``ticks`` ticks of every town; open decisions are bootstrapped at the end."""
        env, net = self.env, self.net
        spec = env.spec
        lstm = net.lstm is not None
        buf = Transitions.allocate(
            {c.name: (c.shape, c.dtype) for c in spec.components},
            net.actor.out_features, _CAPACITY, net.hidden if lstm else 0,
        )  # fmt: skip
        masks = env.buffers["action_mask"]
        a = env.agent_rows
        for _ in range(ticks):
            # -- decide: one batched forward over the rows whose choice takes effect
            rows = deciding_rows(env).nonzero()[0]
            actions = a.option.astype(np.int64)
            rows = self.handover(rows, actions, buf)
            if rows.size:
                h, c = self.state
                if lstm:  # a new context (spawn, teleport, possession) starts a fresh memory
                    fresh = torch.from_numpy(a.ctx_reset[rows]).to(self.device)
                    h[rows] = torch.where(fresh[:, None], 0.0, h[rows])
                    c[rows] = torch.where(fresh[:, None], 0.0, c[rows])
                obs = self._tensors(env.obs, rows)
                mask = torch.from_numpy(masks[rows]).to(self.device)
                with torch.no_grad():
                    act, logp, val, _, new = net.act(
                        obs, mask, (h[rows], c[rows]), generator=self.generator
                    )
                span = buf.reserve(rows.size)
                closing = self.pend[rows] >= 0  # the previous decision of these rows ends here
                buf.next[self.pend[rows[closing]]] = np.arange(span.start, span.stop)[closing]
                buf.discount[self.pend[rows[closing]]] = self.disc[rows[closing]]
                for k in buf.obs:
                    buf.obs[k][span] = env.obs[k][rows]
                buf.mask[span] = masks[rows]
                buf.action[span] = act.cpu().numpy()
                buf.logprob[span] = logp.cpu().numpy()
                buf.value[span] = val.cpu().numpy()
                if lstm and new is not None:
                    assert buf.state_h is not None and buf.state_c is not None
                    buf.state_h[span] = h[rows].cpu().numpy()
                    buf.state_c[span] = c[rows].cpu().numpy()
                    h[rows], c[rows] = new
                self.pend[rows] = np.arange(span.start, span.stop)
                self.disc[rows] = 1.0
                actions[rows] = buf.action[span]
            # -- step every town; rewards flow into each row's open decision
            _, rewards, term, trunc, info = env.step(actions)
            self.agent_steps += int(np.count_nonzero(env.buffers["acted"]))
            self._count_conflicts()
            self.stepped(info)
            self.ep_return += rewards
            live = (self.pend >= 0).nonzero()[0]
            buf.reward[self.pend[live]] += (
                self.disc[live] * rewards[live] * self.reward_scale
            ).astype(np.float32)
            self.disc[live] *= self.gamma
            # -- the agent left town: its last decision ends without a bootstrap
            gone = (term & (self.pend >= 0)).nonzero()[0]
            buf.done[self.pend[gone]] = True
            self.pend[gone] = -1
            ended = (term | trunc).nonzero()[0]
            self.episode_returns.extend(self.ep_return[ended].tolist())
            self.ep_return[ended] = 0.0
            if info["reset_towns"]:  # horizon: bootstrap from the final observation
                final = info["final_mask"]
                cut = (final & (self.pend >= 0)).nonzero()[0]
                if cut.size:
                    buf.boot[self.pend[cut]] = self._value(info["final_obs"], cut)
                    buf.discount[self.pend[cut]] = self.disc[cut]
                self.pend[final] = -1
                self.ep_return[final] = 0.0
                self._reset_state(final)
            if lstm and np.count_nonzero(info["spawned"]):
                self._reset_state(info["spawned"])
        # -- end of the rollout: open decisions are bootstrapped from the current state
        self.close(buf, np.arange(env.num_rows))
        return buf

    def handover(
        self, rows: npt.NDArray[np.intp], actions: npt.NDArray[np.int64], buf: Transitions
    ) -> npt.NDArray[np.intp]:
        """The deciding ``rows`` the network decides for: all of them here. A subclass
        may decide some itself, writing their options into ``actions`` (the anneal's
        scripted share); their open transitions must then be closed (:meth:`close`)."""
        return rows

    def stepped(self, info: dict[str, Any]) -> None:
        """Called after every step with the env's ``info`` (a subclass watches the towns)."""

    def close(self, buf: Transitions, rows: npt.NDArray[np.intp]) -> None:
        """End the open transitions of ``rows`` here, bootstrapped from their current values."""
        open_rows = rows[self.pend[rows] >= 0]
        if open_rows.size:
            buf.boot[self.pend[open_rows]] = self._value(self.env.obs, open_rows)
            buf.discount[self.pend[open_rows]] = self.disc[open_rows]
            self.pend[open_rows] = -1

    def _count_conflicts(self) -> None:
        # this tick's events (a town reset at its horizon shows its new world's: the
        # last tick of an episode goes uncounted)
        for world in self.env.worlds:
            for event in world.events:
                if event["kind"] == "conflict":
                    self.conflicts += 1
                    self.conflict_intensity += float(event.get("intensity", 0.0))

    def _reset_state(self, rows: npt.NDArray[np.bool_]) -> None:
        h, c = self.state
        idx = torch.from_numpy(rows.nonzero()[0])
        h[idx] = 0.0
        c[idx] = 0.0
