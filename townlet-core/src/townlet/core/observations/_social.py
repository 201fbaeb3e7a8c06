"""The social snippet: top friends and top rivals with identity embeddings.

Each tie (up to six per agent) is a *friend* when ``trust + familiarity >
rivalry`` and a *rival* otherwise. Friends are ranked by ``trust +
familiarity - rivalry``, rivals by rivalry. Each of the ``k`` friend and ``k``
rival slots holds the other agent's 8-float identity embedding followed by
trust, familiarity and rivalry; empty slots are zeros. Four aggregates close
the snippet. Everything is zero unless the relationship stage is B or C.

Identity embeddings come from the agent's embedding slot (a namespace of 64
by default whose slots rest ~2,000 ticks before reuse). They are a fixed
quasi-random code, ``cos(2π · frac((slot + 1) · √p_j))`` for the first eight
primes ``p_j``: stable across versions and machines, never all zero.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from townlet.core.observations._frame import Frame
from townlet.core.observations.spec import Feature

__all__ = ["EMBED_DIM", "embedding_table", "fill_social", "social_features"]

EMBED_DIM: Final = 8
_PRIMES: Final = (2, 3, 5, 7, 11, 13, 17, 19)
_MAX_SLOTS: Final = 4096
_REL: Final = ("trust", "familiarity", "rivalry")


def embedding_table(size: int = _MAX_SLOTS) -> npt.NDArray[np.float32]:
    """``[size, 8]`` identity code of each embedding slot, values in [-1, 1]."""
    s = np.arange(1, size + 1, dtype=np.float64)[:, None]
    alpha = np.sqrt(np.array(_PRIMES, dtype=np.float64))[None, :]
    return np.cos(2.0 * np.pi * np.mod(s * alpha, 1.0)).astype(np.float32)


_TABLE: Final = embedding_table()


def social_features(k: int) -> list[Feature]:
    """Features of a snippet with ``k`` friend and ``k`` rival slots."""
    out: list[Feature] = []
    for role in ("friend", "rival"):
        for i in range(k):
            who = f"{role} {i + 1} ({'best' if i == 0 else 'next'} by rank)"
            out += [
                Feature(f"{role}{i}.embed{j}", -1, 1, f"Identity embedding {j} of {who}.")
                for j in range(EMBED_DIM)
            ]
            out += [
                Feature(f"{role}{i}.{r}", -1, 1, f"{r.capitalize()} toward {who}.") for r in _REL
            ]
    out += [
        Feature("ties", 0, 1, "Number of ties / 6."),
        Feature("mean_trust", -1, 1, "Mean trust over ties (0 without ties)."),
        Feature("mean_familiarity", -1, 1, "Mean familiarity over ties."),
        Feature("mean_rivalry", -1, 1, "Mean rivalry over ties."),
    ]
    return out


def fill_social(frame: Frame, out: npt.NDArray[np.float32], k: int) -> None:
    """Write the snippet of every row into ``out`` (``[N, 22k + 4]``)."""
    out[:] = 0.0
    if not frame.social.any():
        return
    other, trust_all, fam_all, riv_all = frame.ties()
    o = np.maximum(other, 0)
    valid = (other >= 0) & frame.alive[o] & (frame.alive & frame.social)[:, None]
    if not valid.any():
        return
    trust = np.clip(np.where(valid, trust_all, 0.0), -1.0, 1.0)
    fam = np.clip(np.where(valid, fam_all, 0.0), -1.0, 1.0)
    riv = np.clip(np.where(valid, riv_all, 0.0), -1.0, 1.0)
    score = trust + fam - riv
    friend = valid & (score > 0)
    rival = valid & ~friend
    emb_of = frame.a.embed_slot.astype(np.int64)[o]
    rows = np.arange(frame.n)[:, None]
    width = EMBED_DIM + 3
    for role, (mask, key) in enumerate(((friend, score), (rival, riv))):
        ranked = np.argsort(np.where(mask, -key, np.inf), axis=1, kind="stable")[:, :k]
        picked = mask[rows, ranked]
        e = emb_of[rows, ranked]
        emb = np.where((picked & (e >= 0))[..., None], _TABLE[np.clip(e, 0, _MAX_SLOTS - 1)], 0.0)
        block = np.concatenate(
            [
                emb,
                np.where(picked, trust[rows, ranked], 0.0)[..., None],
                np.where(picked, fam[rows, ranked], 0.0)[..., None],
                np.where(picked, riv[rows, ranked], 0.0)[..., None],
            ],
            axis=2,
        )
        start = role * k * width
        out[:, start : start + k * width] = block.reshape(frame.n, k * width)
    count = valid.sum(axis=1)
    denom = np.maximum(count, 1)
    tail = 2 * k * width
    out[:, tail] = count / other.shape[1]
    out[:, tail + 1] = trust.sum(axis=1) / denom
    out[:, tail + 2] = fam.sum(axis=1) / denom
    out[:, tail + 3] = riv.sum(axis=1) / denom
