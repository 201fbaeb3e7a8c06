"""Small specs and samples for replay tests, built with the real spec classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.observations.spec import Component, Feature, ObservationSpec
from townlet.core.training.dto import EpochRecord
from townlet.core.training.replay_format import write_sample
from townlet.core.training.replay_meta import EpisodeInfo, SampleMeta, SpecInfo

OPTIONS = ("wait", "get_fed", "get_clean", "go_to_work", "shop_groceries", "sleep", "socialise")


def small_spec(*, scalars: int = 4, encoder: str = "tiny") -> ObservationSpec:
    """A two-component spec: a 2-channel 3×3 map and a vector with conflict features."""
    names = ["need.hunger", "queue.waiting", "social.rivalry_max", "money.wallet"]
    names += [f"extra.f{i}" for i in range(max(0, scalars - len(names)))]
    feats = tuple(Feature(n, 0.0, 1.0, f"{n} (test)") for n in names[:scalars])
    channels = (Feature("walls", 0.0, 1.0, "walls"), Feature("agents", 0.0, 1.0, "agents"))
    return ObservationSpec(
        encoder,
        "1",
        (
            Component("map", (2, 3, 3), channels, "A tiny map."),
            Component("scalars", (len(feats),), feats, "A few scalars."),
        ),
        {"window": 3},
    )


def make_arrays(
    spec: ObservationSpec,
    n: int,
    seed: int = 0,
    *,
    extras: tuple[str, ...] = ("values", "logprobs", "episode", "row", "tick"),
) -> dict[str, npt.NDArray[Any]]:
    """``n`` random transitions in the sample format."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, npt.NDArray[Any]] = {
        f"obs.{c.name}": rng.random((n, *c.shape), dtype=np.float32) for c in spec.components
    }
    arrays["actions"] = rng.integers(0, len(OPTIONS), n, dtype=np.int64)
    arrays["masks"] = rng.random((n, len(OPTIONS))) < 0.8
    arrays["rewards"] = rng.normal(size=n).astype(np.float32)
    arrays["terminated"] = rng.random(n) < 0.01
    arrays["truncated"] = np.zeros(n, dtype=bool)
    arrays["acted"] = rng.random(n) < 0.6
    arrays["possessed"] = rng.random(n) < 0.05
    for name in extras:
        if name in ("values", "logprobs"):
            arrays[name] = rng.normal(size=n).astype(np.float32)
        else:
            arrays[name] = np.arange(n, dtype=np.int64) % 5
    return arrays


def make_meta(spec: ObservationSpec, *, episodes: int = 1, config_id: str = "test") -> SampleMeta:
    """Meta of a sample recorded with ``spec``."""
    return SampleMeta(
        spec=SpecInfo.from_spec(spec),
        options=OPTIONS,
        config_id=config_id,
        seed=7,
        policy="scripted",
        episodes=tuple(
            EpisodeInfo(
                episode=i,
                ticks=10,
                metrics={"return": -1.5, "queue_conflict_events": 2.0},
            )
            for i in range(episodes)
        ),
    )


def write(
    path: Path, spec: ObservationSpec, n: int = 50, seed: int = 0, **kwargs: Any
) -> dict[str, npt.NDArray[Any]]:
    """Write a random sample at ``path``; return its arrays."""
    arrays = make_arrays(spec, n, seed)
    write_sample(path, arrays, make_meta(spec), **kwargs)
    return arrays


STATS: dict[str, Any] = {
    "epoch": 1,
    "updates": 4,
    "transitions": 256,
    "loss_policy": -0.01,
    "loss_value": 0.5,
    "loss_entropy": 1.9,
    "loss_total": 0.2,
    "clip_fraction": 0.1,
    "approx_kl": 0.003,
    "explained_variance": 0.2,
    "adv_mean": 0.0,
    "adv_std": 1.0,
    "grad_norm": 0.7,
    "lr": 3e-4,
    "steps_per_sec": 1234.0,
}


def record(**overrides: Any) -> EpochRecord:
    """A valid epoch record with ``overrides``."""
    return EpochRecord(**{**STATS, **overrides})
