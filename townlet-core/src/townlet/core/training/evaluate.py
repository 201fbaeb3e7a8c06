"""Fixed-seed, paired evaluation of a Policy plugin on a config.

Episode ``e`` runs a fresh world with seed ``seed + e`` for ``ticks`` ticks
(default: one sim day); the episodes are spread over the towns of one
:class:`~townlet.core.env.VectorTownEnv` (built through ``build_runtime``, so
installed hook plugins fire), ``towns`` at a time. Rewards come from the
config's reward pipeline. Two policies evaluated with the same ``seed``,
``episodes``, ``towns`` and ``ticks`` meet the same worlds, so their reports
compare episode by episode.

The score is the per-agent episode return: the sum of an agent's rewards
over its stay in the episode (an agent arriving mid-episode counts from its
arrival), averaged over all agent-episodes. Its 95% interval is Student's t
with the episodes as independent units (agents of one town share it): a
cluster-robust standard error of the mean with ``episodes − 1`` degrees of
freedom; with one episode, over its agents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from townlet.core.config.models import TownletConfig
from townlet.core.env.vector import VectorTownEnv
from townlet.core.registry import Registry
from townlet.core.training._rollout import EPISODE_KPIS, AgentReturns, EpisodeEnds, PolicyDriver
from townlet.core.training.backends import BACKENDS, load_ray_backend
from townlet.core.training.dto import EvaluationReport

__all__ = ["KPI_NAMES", "EpisodeOutcome", "evaluate", "evaluate_batches", "mean_ci95"]

KPI_NAMES: Final = EPISODE_KPIS
"""KPIs of an evaluation report, each averaged over episodes."""

# 0.975 quantiles of Student's t (two-sided 95%) for 1..30 degrees of freedom
_T975: Final = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def _t975(df: int) -> float:
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964  # Cornish-Fisher expansion around the normal quantile
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci95(groups: list[list[float]]) -> tuple[float, tuple[float, float]]:
    """Mean of every value and its 95% t interval, ``groups`` being independent clusters."""
    values = np.array([v for g in groups for v in g], dtype=np.float64)
    if values.size == 0:
        return 0.0, (0.0, 0.0)
    mean = float(values.mean())
    used = [g for g in groups if g]
    if len(used) >= 2:
        sums = np.array([sum(g) for g in used])
        counts = np.array([len(g) for g in used])
        resid = sums - mean * counts
        k = len(used)
        se = math.sqrt(k / (k - 1) * float((resid**2).sum())) / float(counts.sum())
        df = k - 1
    elif values.size >= 2:
        se = float(values.std(ddof=1)) / math.sqrt(values.size)
        df = values.size - 1
    else:
        return mean, (mean, mean)
    half = _t975(df) * se
    return mean, (mean - half, mean + half)


EpisodeOutcome = tuple[list[float], dict[str, float]]
"""One episode's per-agent returns and its KPIs."""


def evaluate(
    config: TownletConfig,
    policy: str,
    policy_params: Mapping[str, Any] | None = None,
    *,
    episodes: int,
    seed: int,
    towns: int | None = None,
    registry: Registry | None = None,
    ticks: int | None = None,
    backend: str = "local",
) -> EvaluationReport:
    """Evaluate the Policy plugin ``policy`` (with ``policy_params``) on ``config``.

    ``towns``: episodes run side by side (default: all, at most 8); ``ticks``:
    episode length (default: one sim day). See the module docstring.
    ``backend="ray"`` spreads the batches of ``towns`` episodes over the Ray
    workers of ``training.ray`` (townlet-strategies[ray]); every batch runs as
    it would here, so the report is the same.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1 (got {episodes})")
    registry = registry or Registry()
    length = ticks if ticks is not None else config.world.ticks_per_day
    width = min(towns if towns is not None else 8, episodes)
    if length < 1 or width < 1:
        raise ValueError(f"ticks and towns must be >= 1 (got {length}, {width})")
    firsts = list(range(0, episodes, width))
    if backend == "ray":
        ray_backend = load_ray_backend("townlet evaluate --backend ray")
        outcomes: list[EpisodeOutcome] = ray_backend.evaluate_batches(
            config, policy, policy_params, firsts=firsts, episodes=episodes, seed=seed,
            width=width, length=length,
        )  # fmt: skip
    elif backend == "local":
        outcomes = evaluate_batches(
            config, policy, policy_params, firsts=firsts, episodes=episodes, seed=seed,
            width=width, length=length, registry=registry,
        )  # fmt: skip
    else:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
    by_episode = [returns for returns, _ in outcomes]
    kpis = [k for _, k in outcomes]
    mean, ci = mean_ci95(by_episode)
    return EvaluationReport(
        policy=policy,
        config_id=config.config_id,
        seeds=tuple(seed + e for e in range(episodes)),
        episodes=episodes,
        ticks=length,
        agents=sum(len(g) for g in by_episode),
        mean_return=mean,
        return_ci95=ci,
        episode_returns=tuple(float(np.mean(g)) if g else 0.0 for g in by_episode),
        kpis={k: float(np.mean([e[k] for e in kpis])) for k in KPI_NAMES},
    )


def evaluate_batches(
    config: TownletConfig,
    policy: str,
    policy_params: Mapping[str, Any] | None,
    *,
    firsts: Sequence[int],
    episodes: int,
    seed: int,
    width: int,
    length: int,
    registry: Registry | None = None,
) -> list[EpisodeOutcome]:
    """Run the batch of ``width`` episodes starting at each episode index in ``firsts``
    (episode ``e`` on world seed ``seed + e``; episodes past ``episodes`` are run but not
    kept) for ``length`` ticks; every kept episode's outcome, in order.

    A batch depends on nothing but its first episode (with ``rewards.normalise``
    off), so batches may run anywhere: the Ray backend runs them on its workers.
    """
    registry = registry or Registry()
    venv = VectorTownEnv(width, config, horizon=length, registry=registry)
    driver = PolicyDriver.build(registry, policy, policy_params, width)
    probe = EpisodeEnds.attach(venv)
    returns = AgentReturns(venv.num_rows, venv.slots)
    out: list[EpisodeOutcome] = []
    for first in firsts:
        _, info = venv.reset(seed=seed + first)
        worlds = venv.worlds
        driver.reset(worlds)
        for t in range(width):
            returns.start(t, info["alive"])
        for _ in range(length):
            worlds = venv.worlds
            _, rewards, terminated, _, info = venv.step(driver.act(worlds))
            returns.step(rewards, info["acted"], terminated, info["spawned"])
        for t in range(min(width, episodes - first)):
            out.append((returns.finish(t), probe.pop(worlds[t])))
    venv.close()
    return out
