"""Demonstrations for behaviour cloning: the decisions of captured trajectories and their returns.

A captured sample holds every tick of every row (``townlet capture-rollout``);
behaviour cloning imitates the choices made at *decision points* only
(``decided``: the row's option took effect, docs/training.md), where the
recorded option is legal and the row was not possessed. Each decision also
carries the discounted return that followed it, for value distillation:
the agent's ticks in one episode are linked tick to tick (``episode``,
``row``, ``tick``) and their rewards summed with per-tick discount ``γ``.
Where a chain ends without the agent leaving town (the horizon or the end of
the capture) the return is bootstrapped from the value of the chain's last
observation, as PPO's replay mode does; :meth:`Demonstrations.returns` does
that with the network being trained.

The data is read twice, one sample at a time (memory-mapped when stored
uncompressed): first the small per-tick arrays, then the observations of the
decisions and chain ends only, so memory holds the decisions, not every tick.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.errors import TownletError
from townlet.core.training.replay import ReplayDataset

__all__ = ["Demonstrations"]

Array = npt.NDArray[Any]
_NEEDED: Final = ("decided", "episode", "row", "tick")
_SMALL: Final = ("actions", "rewards", "terminated", "acted", "possessed", *_NEEDED)


@dataclass(frozen=True)
class Demonstrations:
    """The decisions of a replay dataset (see the module docstring), one row each."""

    obs: dict[str, Array]
    """Observation of each decision, by component."""
    mask: Array
    """``[N, options]`` legal options at each decision."""
    action: Array
    """``[N]`` the option chosen."""
    changed: Array
    """``[N]`` the option differs from the agent's previous decision in the episode
    (or it is the first): a real choice rather than carrying on."""
    episode: Array
    """``[N]`` episode key: the unit of the held-out split. Episodes of one world seed
    share a key (two captures of one world start alike); without a seed, the id does."""
    partial_return: Array
    """``[N]`` discounted (scaled) rewards from the decision to its chain's end."""
    boot_discount: Array
    """``[N]`` ``γ^k`` weighing the bootstrap value (0 when the agent left town)."""
    boot_index: Array
    """``[N]`` row of :attr:`boot_obs` the return bootstraps from."""
    boot_obs: dict[str, Array]
    """Last observation of every chain that decisions bootstrap from."""

    @property
    def size(self) -> int:
        """Number of decisions."""
        return int(self.action.shape[0])

    @classmethod
    def load(cls, dataset: ReplayDataset, gamma: float, reward_scale: float) -> Demonstrations:
        """The decisions of ``dataset``; :class:`TownletError` when it lacks what is needed."""
        missing = [k for k in _NEEDED if k not in dataset.array_names]
        if missing:
            raise TownletError(
                f"replay samples lack {', '.join(missing)}: behaviour cloning needs the decision "
                "points and the episode, row and tick of every transition; capture them again "
                "with townlet capture-rollout"
            )
        # -- pass 1: the small per-tick arrays of every sample. Two keys per episode: the
        # split's, by world seed (two captures that met one world start alike, so they
        # stay on one side), and the chain's, by capture and episode id (ticks link
        # within one recorded episode only)
        keys: dict[tuple[str, int], int] = {}
        chains: dict[tuple[object, ...], int] = {}
        parts: list[dict[str, Array]] = []
        for sample in dataset.iter_samples():
            a = sample.arrays
            part = {k: np.asarray(a[k]) for k in _SMALL}
            part["legal"] = np.asarray(a["masks"])[np.arange(len(part["actions"])), part["actions"]]
            seeds = {e.episode: e.seed for e in sample.sidecar.episodes}
            ids = part["episode"]
            table = {
                int(e): keys.setdefault(_episode_key(seeds, int(e)), len(keys))
                for e in np.unique(ids)
            }
            part["key"] = np.vectorize(table.__getitem__, otypes=[np.int64])(ids)
            run = (sample.sidecar.config_id, sample.sidecar.seed, sample.sidecar.policy)
            chain = {
                int(e): chains.setdefault((*run, seeds.get(int(e)), int(e)), len(chains))
                for e in np.unique(ids)
            }
            part["chain"] = np.vectorize(chain.__getitem__, otypes=[np.int64])(ids)
            parts.append(part)
        sizes = [len(p["actions"]) for p in parts]
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

        # -- link an agent's ticks of one episode (possessed ticks are not its own: they cut)
        keep = (cat["acted"] & ~cat["possessed"]).nonzero()[0]
        idx = keep[np.lexsort((cat["tick"][keep], cat["row"][keep], cat["chain"][keep]))]
        key, row, tick = cat["chain"][idx], cat["row"][idx], cat["tick"][idx]
        linked = np.zeros(idx.size, bool)
        linked[:-1] = (key[1:] == key[:-1]) & (row[1:] == row[:-1]) & (tick[1:] == tick[:-1] + 1)
        partial, boot_disc, end = _discounted(
            (cat["rewards"][idx] * reward_scale).tolist(),
            linked.tolist(),
            cat["terminated"][idx].tolist(),
            gamma,
        )

        # -- the decisions among them
        pick = (cat["decided"][idx] & cat["legal"][idx]).nonzero()[0]
        if pick.size == 0:
            raise TownletError(
                "the replay data holds no decision points to imitate (no row's option took "
                "effect): capture more ticks"
            )
        action = cat["actions"][idx[pick]]
        same_agent = np.zeros(pick.size, bool)
        same_agent[1:] = (key[pick][1:] == key[pick][:-1]) & (row[pick][1:] == row[pick][:-1])
        changed = np.ones(pick.size, bool)
        changed[1:] = ~same_agent[1:] | (action[1:] != action[:-1])
        ends, boot_index = np.unique(end[pick], return_inverse=True)

        # -- pass 2: observations and masks of the decisions and chain ends only
        starts = np.cumsum([0, *sizes])
        want = {"decision": idx[pick], "boot": idx[ends]}
        got: dict[str, dict[str, list[Array]]] = {k: {} for k in want}
        for s, sample in enumerate(dataset.iter_samples()):
            lo, hi = starts[s], starts[s + 1]
            for which, rows in want.items():
                local = rows[(rows >= lo) & (rows < hi)] - lo
                for name, arr in sample.arrays.items():
                    if name.startswith("obs.") or (name == "masks" and which == "decision"):
                        got[which].setdefault(name, []).append(np.asarray(arr[local]))
        # rows were gathered sample by sample: put them back in the order asked for
        restore = {
            k: np.argsort(np.argsort(np.searchsorted(starts, v, "right"), kind="stable"))
            for k, v in want.items()
        }
        dec = {n: np.concatenate(v)[restore["decision"]] for n, v in got["decision"].items()}
        boot = {n: np.concatenate(v)[restore["boot"]] for n, v in got["boot"].items()}
        return cls(
            obs={n[4:]: v for n, v in dec.items() if n.startswith("obs.")},
            mask=dec["masks"],
            action=action.astype(np.int64),
            changed=changed,
            episode=cat["key"][idx[pick]],
            partial_return=partial[pick],
            boot_discount=boot_disc[pick],
            boot_index=boot_index.astype(np.int64),
            boot_obs={n[4:]: v for n, v in boot.items()},
        )

    def subset(self, index: Array) -> Demonstrations:
        """The decisions at ``index`` (bootstrap observations shared)."""
        return Demonstrations(
            obs={k: v[index] for k, v in self.obs.items()},
            mask=self.mask[index],
            action=self.action[index],
            changed=self.changed[index],
            episode=self.episode[index],
            partial_return=self.partial_return[index],
            boot_discount=self.boot_discount[index],
            boot_index=self.boot_index[index],
            boot_obs=self.boot_obs,
        )

    def split(self, holdout: float, seed: int) -> tuple[Demonstrations, Demonstrations]:
        """``(train, held out)``: a seeded share ``holdout`` of the episodes (at least one)
        is held out whole, so no episode lends decisions to both sides."""
        episodes = np.unique(self.episode)
        if episodes.size < 2:
            raise TownletError(
                f"the replay data holds {episodes.size} episode(s); a held-out split by episode "
                "needs at least 2 (capture more ticks or towns)"
            )
        n_out = min(episodes.size - 1, max(1, round(holdout * episodes.size)))
        out = np.random.default_rng(seed).permutation(episodes)[:n_out]
        held = np.isin(self.episode, out)
        return self.subset((~held).nonzero()[0]), self.subset(held.nonzero()[0])

    def returns(self, boot_values: Callable[[Mapping[str, Array]], Array]) -> Array:
        """``[N]`` value targets: the partial returns bootstrapped with
        ``boot_values(boot_obs)`` (the values of the chains' last observations)."""
        values = boot_values(self.boot_obs)
        out: Array = self.partial_return + self.boot_discount * values[self.boot_index]
        return out.astype(np.float32)


def _episode_key(seeds: Mapping[int, int | None], episode: int) -> tuple[str, int]:
    """The split's key of ``episode`` of a sample whose sidecar gives ``seeds``."""
    seed = seeds.get(episode)
    return ("seed", seed) if seed is not None else ("episode", episode)


def _discounted(
    reward: list[float], linked: list[bool], done: list[bool], gamma: float
) -> tuple[Array, Array, Array]:
    """Per tick of linked chains: ``(Σ γᵏ r to the chain's end, γ^(ticks to the end + 1)
    or 0 after a termination, index of the chain's last tick)``."""
    n = len(reward)
    partial = [0.0] * n
    disc = [0.0] * n
    end = [0] * n
    for i in range(n - 1, -1, -1):
        if linked[i]:
            partial[i] = reward[i] + gamma * partial[i + 1]
            disc[i] = gamma * disc[i + 1]
            end[i] = end[i + 1]
        else:
            partial[i] = reward[i]
            disc[i] = 0.0 if done[i] else gamma
            end[i] = i
    return (
        np.asarray(partial, np.float32),
        np.asarray(disc, np.float32),
        np.asarray(end, np.int64),
    )
