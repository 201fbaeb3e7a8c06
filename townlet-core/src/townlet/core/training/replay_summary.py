"""A replay dataset summarised: shapes, per-feature statistics, conflicts, actions.

:func:`batch_summary` makes one pass over the samples (streamed datasets
included, in bounded memory) and returns a :class:`ReplaySummary`;
:func:`inspect_text` renders it for ``townlet replay inspect``. Vector
features are summarised one by one, map channels over all their cells.
Features whose names mention rivals, conflicts or queues are listed again
on their own, since conflict-aware training depends on them being present
and alive.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from townlet.core.training.normalize import RunningMoments
from townlet.core.training.replay import ReplayDataset

__all__ = ["CONFLICT_WORDS", "FeatureStats", "ReplaySummary", "batch_summary", "inspect_text"]

CONFLICT_WORDS: Final = ("rival", "conflict", "queue")
"""A feature whose name contains one of these is a conflict/rivalry feature."""
_CHUNK_VALUES: Final = 1 << 18  # values per component reduced at a time (bounds the copies)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureStats(_Model):
    """Statistics of one feature (or map channel) over the summarised transitions."""

    name: str = Field(description="component.feature (vectors) or component.channel (maps).")
    mean: float = Field(description="Mean value.")
    std: float = Field(ge=0, description="Population standard deviation.")
    min: float = Field(description="Smallest value.")
    max: float = Field(description="Largest value.")


class ReplaySummary(_Model):
    """What :func:`batch_summary` found."""

    files: tuple[str, ...] = Field(description="The samples' NPZ files.")
    encoder: str = Field(description="Encoder of the observations.")
    spec_hash: str = Field(description="Encoder spec hash shared by every sample.")
    config_ids: tuple[str, ...] = Field(description="Distinct config_ids recorded.")
    transitions: int = Field(ge=0, description="Transitions in all samples.")
    decisions: int = Field(ge=0, description="Trainable transitions (acted, not possessed).")
    possessed: int = Field(ge=0, description="Transitions of possessed agents.")
    episodes: int = Field(
        ge=0, description="Distinct episodes recorded (one spanning several samples counts once)."
    )
    summarised: int = Field(ge=0, description="Transitions the statistics cover.")
    shapes: dict[str, tuple[int, ...]] = Field(description="Stacked shape of every array.")
    dtypes: dict[str, str] = Field(description="dtype of every array.")
    features: tuple[FeatureStats, ...] = Field(description="Every feature, in spec order.")
    conflict_features: tuple[FeatureStats, ...] = Field(
        description="The features naming rivals, conflicts or queues."
    )
    rewards: FeatureStats = Field(description="Statistics of the reward.")
    actions: dict[str, int] = Field(description="Chosen option counts, by option name.")
    episode_totals: dict[str, float] = Field(
        description="Per-episode metrics summed over episodes (queue conflicts, lateness, ...)."
    )


def _cells(shape: tuple[int, ...]) -> int:
    return shape[1] * shape[2] if len(shape) == 3 else 1


def _stats(name: str, m: RunningMoments, i: int | None = None) -> FeatureStats:
    at = (i,) if i is not None else ()
    if m.count == 0:
        return FeatureStats(name=name, mean=0.0, std=0.0, min=0.0, max=0.0)
    return FeatureStats(
        name=name,
        mean=float(m.mean[at]),
        std=float(m.std[at]),
        min=float(m.min[at]),
        max=float(m.max[at]),
    )


def _episode_metrics(dataset: ReplayDataset) -> dict[tuple[object, ...], dict[str, float]]:
    """Each distinct episode of ``dataset`` → its metrics (empty while none were written).

    An episode longer than a sample is listed in the sidecar of every sample
    it has transitions in, and its metrics only where it ended; it is one
    episode, identified by its recording run (config, run seed, policy) and
    its id, town and world seed within that run.
    """
    found: dict[tuple[object, ...], dict[str, float]] = {}
    for sidecar in dataset.sidecars:
        run = (sidecar.config_id, sidecar.seed, sidecar.policy)
        for ep in sidecar.episodes:
            key = (*run, ep.episode, ep.town, ep.seed)
            if ep.metrics or key not in found:
                found[key] = ep.metrics
    return found


def batch_summary(dataset: ReplayDataset, *, decisions_only: bool = True) -> ReplaySummary:
    """Summarise ``dataset`` (its trainable transitions, or all of them)."""
    spec = dataset.spec
    moments = {c.name: RunningMoments((len(c.features),)) for c in spec.components}
    rewards = RunningMoments(())
    actions: Counter[int] = Counter()
    chunk = max(1, _CHUNK_VALUES // max(len(c.features) * _cells(c.shape) for c in spec.components))
    for sample in dataset.iter_samples():
        a = sample.arrays
        keep = a["acted"] & ~a["possessed"] if decisions_only else None
        for lo in range(0, sample.transitions, chunk):
            hi = min(lo + chunk, sample.transitions)
            rows: slice | npt.NDArray[np.intp] = (
                slice(lo, hi) if keep is None else np.flatnonzero(keep[lo:hi]) + lo
            )
            for comp in spec.components:
                x = np.asarray(a[f"obs.{comp.name}"][rows])
                if len(comp.shape) == 3:  # [n, C, H, W] → one row per cell, channels last
                    x = np.moveaxis(x, 1, -1).reshape(-1, comp.shape[0])
                moments[comp.name].update(x)
            rewards.update(np.asarray(a["rewards"][rows]))
            actions.update(np.asarray(a["actions"][rows]).tolist())
        del sample
    features = tuple(
        _stats(f"{c.name}.{feature}", moments[c.name], i)
        for c in spec.components
        for i, feature in enumerate(c.features)
    )
    episodes = _episode_metrics(dataset)
    totals: Counter[str] = Counter()
    for metrics in episodes.values():
        totals.update(metrics)
    first = dataset.sidecars[0]
    n = dataset.transitions
    return ReplaySummary(
        files=tuple(str(p) for p in dataset.paths),
        encoder=spec.encoder,
        spec_hash=spec.hash,
        config_ids=tuple(dict.fromkeys(s.config_id for s in dataset.sidecars)),
        transitions=n,
        decisions=dataset.decisions,
        possessed=sum(s.counts.possessed for s in dataset.sidecars),
        episodes=len(episodes),
        summarised=rewards.count,
        shapes={k: (n, *v.shape[1:]) for k, v in sorted(first.arrays.items())},
        dtypes={k: v.dtype for k, v in sorted(first.arrays.items())},
        features=features,
        conflict_features=tuple(
            f for f in features if any(w in f.name.lower() for w in CONFLICT_WORDS)
        ),
        rewards=_stats("rewards", rewards),
        actions={name: actions.get(i, 0) for i, name in enumerate(dataset.options)},
        episode_totals={k: float(v) for k, v in sorted(totals.items())},
    )


def _table(stats: tuple[FeatureStats, ...]) -> list[str]:
    width = max((len(s.name) for s in stats), default=4)
    lines = [f"  {'name':<{width}}  {'mean':>9} {'std':>9} {'min':>9} {'max':>9}"]
    lines += [
        f"  {s.name:<{width}}  {s.mean:>9.4g} {s.std:>9.4g} {s.min:>9.4g} {s.max:>9.4g}"
        for s in stats
    ]
    return lines


def inspect_text(summary: ReplaySummary) -> str:
    """The summary as text: counts, arrays, conflict features, actions, all features."""
    s = summary
    out = [
        f"replay: {len(s.files)} sample(s), {s.transitions:,} transitions "
        f"({s.decisions:,} decisions, {s.possessed:,} possessed), {s.episodes:,} episode(s)",
        f"encoder: {s.encoder}  spec {s.spec_hash}  config: {', '.join(s.config_ids)}",
        f"statistics over {s.summarised:,} transitions",
        "",
        "arrays:",
    ]
    width = max(len(k) for k in s.shapes)
    out += [f"  {k:<{width}}  {list(v)!s:<18} {s.dtypes[k]}" for k, v in s.shapes.items()]
    out += ["", f"conflict/rivalry features ({len(s.conflict_features)}):"]
    out += _table(s.conflict_features) if s.conflict_features else ["  (none in this spec)"]
    total = sum(s.actions.values())
    out += ["", "action histogram:"]
    name_w = max((len(k) for k in s.actions), default=4)
    for name, count in s.actions.items():
        share = count / total if total else 0.0
        out.append(f"  {name:<{name_w}}  {count:>9,}  {share:6.1%}  {'#' * round(share * 40)}")
    out += ["", "rewards:", *_table((s.rewards,))]
    if s.episode_totals:
        out += ["", "episode metrics (sum over episodes):"]
        key_w = max(len(k) for k in s.episode_totals)
        out += [f"  {k:<{key_w}}  {v:,.4g}" for k, v in s.episode_totals.items()]
    out += ["", f"features ({len(s.features)}):", *_table(s.features)]
    return "\n".join(out) + "\n"
