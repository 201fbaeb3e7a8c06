"""The actor-critic network, built from an :class:`ObservationSpec` (any encoder works).

Every map component (``[C, H, W]``) goes through a small CNN, the vector
components (scalars, the social snippet, …) through one MLP; the features
are joined by a shared layer, optionally followed by an LSTM cell, and read
by a policy head (one logit per option) and a value head. Inputs are scaled
to about ``[-1, 1]`` with the bounds the spec states for every feature, so
no running normaliser has to be saved or warmed up.

Illegal options get a logit of ``-1e8``: their probability is exactly zero
and they are never sampled (:func:`masked_logits`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import torch
from torch import nn

from townlet.core.observations.spec import Component, ObservationSpec

__all__ = ["MASKED_LOGIT", "ActorCritic", "entropy", "log_probs", "masked_logits"]

MASKED_LOGIT: Final = -1e8
"""Logit given to illegal options (probability exactly 0 after the softmax)."""

Obs = Mapping[str, torch.Tensor]


def layer_init(layer: nn.Linear | nn.Conv2d, std: float = float(np.sqrt(2)), bias: float = 0.0):  # type: ignore[no-untyped-def]
    """Orthogonal weights, constant bias: the PPO implementation detail
    (https://iclr-blog-track.github.io/2022/03/25/ppo-implementation-details/)."""
    nn.init.orthogonal_(layer.weight, std)
    assert layer.bias is not None
    nn.init.constant_(layer.bias, bias)
    return layer


def log_probs(logits: torch.Tensor) -> torch.Tensor:
    """``[B, options]`` log-probabilities of (masked) logits."""
    return torch.log_softmax(logits, dim=-1)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """``[B]`` entropy in nats; masked options (probability 0) add nothing."""
    logp = log_probs(logits)
    return -(logp.exp() * logp).sum(dim=-1)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``logits`` with illegal options (``mask`` False) set to :data:`MASKED_LOGIT`."""
    return torch.where(mask, logits, torch.full_like(logits, MASKED_LOGIT))


def _scale(comp: Component) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature ``(shift, scale)`` mapping the spec's bounds to ``[-1, 1]``.

    Features with infinite or empty bounds pass through unchanged.
    """
    low = np.array([f.low for f in comp.features], dtype=np.float64)
    high = np.array([f.high for f in comp.features], dtype=np.float64)
    ok = np.isfinite(low) & np.isfinite(high) & (high > low)
    mid = np.where(ok, (low + high) / 2, 0.0)
    half = np.where(ok, (high - low) / 2, 1.0)
    shape = (-1, 1, 1) if comp.is_map else (-1,)
    return (
        torch.tensor(mid, dtype=torch.float32).reshape(shape),
        torch.tensor(1.0 / half, dtype=torch.float32).reshape(shape),
    )


class ActorCritic(nn.Module):
    """Shared-parameter policy and value network over one observation spec.

    ``hidden``: width of the shared layer (and the LSTM); ``lstm``: add an
    LSTM cell whose state the caller carries (see :meth:`forward`).
    """

    def __init__(
        self, spec: ObservationSpec, n_options: int, *, hidden: int = 128, lstm: bool = False
    ) -> None:
        super().__init__()
        self.maps = tuple(c.name for c in spec.components if c.is_map)
        self.vectors = tuple(c.name for c in spec.components if not c.is_map)
        self.hidden = hidden
        self.shapes = dict(spec.shapes)
        """Per-agent shape of each observation component, by name."""
        for comp in spec.components:
            shift, scale = _scale(comp)
            self.register_buffer(f"shift_{comp.name}", shift)
            self.register_buffer(f"scale_{comp.name}", scale)
        self.cnns = nn.ModuleDict()
        width = 0
        for name in self.maps:
            c, h, w = spec[name].shape
            cnn = nn.Sequential(
                layer_init(nn.Conv2d(c, 16, 3, padding=1)),
                nn.ReLU(),
                layer_init(nn.Conv2d(16, 32, 3, stride=2, padding=1)),
                nn.ReLU(),
                nn.Flatten(),
            )
            with torch.no_grad():
                out = cnn(torch.zeros(1, c, h, w)).shape[1]
            self.cnns[name] = nn.Sequential(cnn, layer_init(nn.Linear(out, 64)), nn.ReLU())
            width += 64
        n_vec = sum(spec[name].size for name in self.vectors)
        self.mlp = nn.Sequential(layer_init(nn.Linear(n_vec, hidden)), nn.ReLU()) if n_vec else None
        width += hidden if n_vec else 0
        self.trunk = nn.Sequential(layer_init(nn.Linear(width, hidden)), nn.ReLU())
        self.lstm = nn.LSTMCell(hidden, hidden) if lstm else None
        self.actor = layer_init(nn.Linear(hidden, n_options), std=0.01)
        self.critic = layer_init(nn.Linear(hidden, 1), std=1.0)

    def _norm(self, name: str, x: torch.Tensor) -> torch.Tensor:
        shift: torch.Tensor = getattr(self, f"shift_{name}")
        scale: torch.Tensor = getattr(self, f"scale_{name}")
        return (x - shift) * scale

    def features(self, obs: Obs) -> torch.Tensor:
        """``[B, hidden]`` shared features of a batch of observations."""
        parts = [self.cnns[name](self._norm(name, obs[name])) for name in self.maps]
        if self.mlp is not None:
            vec = torch.cat([self._norm(n, obs[n]).flatten(1) for n in self.vectors], dim=1)
            parts.append(self.mlp(vec))
        out: torch.Tensor = self.trunk(torch.cat(parts, dim=1))
        return out

    def initial_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero LSTM state ``(h, c)`` for ``batch`` rows (empty tensors without an LSTM)."""
        size = self.hidden if self.lstm is not None else 0
        zeros = torch.zeros(batch, size, device=self.actor.weight.device)
        return zeros, zeros.clone()

    def forward(
        self,
        obs: Obs,
        mask: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        """``(masked logits [B, options], values [B], next LSTM state or None)``.

        ``state`` is the LSTM's ``(h, c)`` for these rows (zeros to start an
        episode); ignored without an LSTM.
        """
        x = self.features(obs)
        new_state = None
        if self.lstm is not None:
            h, c = state if state is not None else self.initial_state(x.shape[0])
            h, c = self.lstm(x, (h, c))
            new_state = (h, c)
            x = h
        return masked_logits(self.actor(x), mask), self.critic(x).squeeze(-1), new_state

    def act(
        self,
        obs: Obs,
        mask: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        *,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[
        torch.Tensor,
        torch.Tensor,
        torch.Tensor,
        torch.Tensor,
        tuple[torch.Tensor, torch.Tensor] | None,
    ]:
        """``(options, log-probs, values, probabilities, next state)``: a sample
        (or the most probable legal option when ``greedy``)."""
        logits, values, new_state = self(obs, mask, state)
        probs = torch.softmax(logits, dim=-1)
        if greedy:
            actions = probs.argmax(dim=-1)
        else:
            # draw where the generator lives (a CPU generator keeps runs reproducible on GPU)
            where = probs if generator is None else probs.to(generator.device)
            actions = torch.multinomial(where, 1, generator=generator).squeeze(-1).to(probs.device)
        logp = log_probs(logits).gather(1, actions[:, None]).squeeze(1)
        return actions, logp, values, probs, new_state
