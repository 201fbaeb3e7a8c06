"""Rollout capture: run a policy over a vector env and record replay samples.

:class:`RolloutCapture` steps ``towns`` towns of a config for ``ticks`` ticks
with a Policy plugin (or a policy object) and writes what happened as replay
samples (docs/training.md): every row of every step is one transition, with
its observations, option, mask, reward, ``terminated``/``truncated``,
``acted``, ``possessed``, ``decided`` (the row's option took effect: a
decision point), the ids ``episode``/``town``/``row``/``tick``, and
``values``/``logprobs`` when the policy reports them
(:class:`~townlet.core.ports.ScoredPolicy`). Towns auto-reset at the
``horizon`` with the vector env's seed streams; every town's episode gets a
fresh id.

A sample holds at most ``sample_ticks`` ticks (by default as many as fit in
about 64 MiB), so a long capture streams to disk. Each sample lists the
episodes it holds transitions of, with their ticks in it; an episode's
metrics (mean per-agent ``return``, ``agents``, ``queue_conflict_events``,
``queue_conflict_intensity_sum``, ``lateness``, ``chats``, ``exits``,
``self_sufficiency``, ``attendance`` and ``complete``: 1 when it reached the
horizon, 0 when the capture ended first) are written once, in the sample
where the episode ends, so summing them over samples counts each once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from townlet.core.config.models import TownletConfig
from townlet.core.env.vector import VectorTownEnv
from townlet.core.ports import OPTIONS, Policy, ScoredPolicy
from townlet.core.registry import Registry
from townlet.core.training._rollout import AgentReturns, EpisodeEnds, PolicyDriver
from townlet.core.training.decisions import deciding_rows
from townlet.core.training.replay_format import append_to_manifest, read_manifest, write_sample
from townlet.core.training.replay_meta import (
    MANIFEST_NAME,
    OPTIONAL_ARRAYS,
    REQUIRED_ARRAYS,
    EpisodeInfo,
    ReplayError,
    SampleMeta,
    SpecInfo,
)
from townlet.core.world.rows import TownRows

__all__ = ["SAMPLE_BYTES", "RolloutCapture"]

SAMPLE_BYTES: Final = 64 << 20
"""Target size of one sample when ``sample_ticks`` is not given."""

Arrays = dict[str, npt.NDArray[Any]]


@dataclass
class _Episode:
    id: int
    town: int
    seed: int
    ticks: int = 0
    metrics: dict[str, float] = field(default_factory=dict)


class _Buffer:
    """Transitions of up to ``ticks`` steps of ``rows`` rows, tick-major."""

    def __init__(self, venv: VectorTownEnv, ticks: int, scored: bool) -> None:
        rows = venv.num_rows
        self.k = 0
        self.arrays: Arrays = {
            f"obs.{c.name}": np.zeros((ticks, rows, *c.shape), c.dtype)
            for c in venv.spec.components
        }
        flat = dict(REQUIRED_ARRAYS)
        ids: tuple[str, ...] = ("decided", "episode", "town", "row", "tick")
        ids += ("values", "logprobs") if scored else ()
        flat.update({name: OPTIONAL_ARRAYS[name] for name in ids})
        self.arrays.update({n: np.zeros((ticks, rows), d) for n, d in flat.items()})
        self.arrays["masks"] = np.zeros((ticks, rows, len(OPTIONS)), bool)
        self.arrays["row"][:] = np.arange(rows)
        self.arrays["town"][:] = np.arange(rows) // venv.slots
        self.episodes: dict[int, _Episode] = {}

    def flat(self) -> Arrays:
        """The filled steps, one transition per row."""
        return {n: a[: self.k].reshape(-1, *a.shape[2:]) for n, a in self.arrays.items()}


class RolloutCapture:
    """Records rollouts of ``config`` as replay samples (see the module docstring)."""

    def __init__(self, config: TownletConfig, registry: Registry | None = None) -> None:
        self.config = config
        self.registry = registry or Registry()

    def capture(
        self,
        policy: str | Policy | None = None,
        *,
        ticks: int,
        output_dir: Path,
        towns: int = 8,
        seed: int | None = None,
        policy_params: dict[str, Any] | None = None,
        sample_ticks: int | None = None,
        horizon: int = 1000,
        prefix: str = "rollout",
    ) -> Path:
        """Capture ``ticks`` ticks of ``towns`` towns into ``output_dir``; the manifest's path.

        ``policy``: a Policy plugin name (default: the config's ``policy``,
        with ``policy_params`` or the config's params) or a policy object.
        ``seed``: town ``t`` starts from world seed ``seed + t`` (default:
        the config's seed). Samples are named ``{prefix}_{i:05d}``, numbered
        on from those already there, and appended to ``output_dir/manifest.json``
        (which must be of the same observation spec). Episode ids are unique
        within one capture.
        """
        if ticks < 1 or towns < 1:
            raise ValueError(f"ticks and towns must be >= 1 (got {ticks}, {towns})")
        seed = self.config.seed if seed is None else seed
        venv = VectorTownEnv(towns, self.config, horizon=horizon, registry=self.registry)
        if isinstance(policy, str) or policy is None:
            name = policy or self.config.policy.name
            params = policy_params
            if params is None and name == self.config.policy.name:
                params = self.config.policy.params
            driver = PolicyDriver.build(self.registry, name, params, towns)
        else:
            name = type(policy).__name__
            driver = PolicyDriver([policy])
            if not driver.batched and towns > 1:
                raise ValueError(f"{name} has no act_many: capture one town or pass its name")
        scored = driver.batched and isinstance(driver.policies[0], ScoredPolicy)
        if sample_ticks is None:
            per_tick = sum(a.nbytes for a in _Buffer(venv, 1, scored).arrays.values())
            sample_ticks = max(1, SAMPLE_BYTES // per_tick)
        _check_manifest(output_dir, venv)
        output_dir.mkdir(parents=True, exist_ok=True)
        run = _Run(venv, driver, scored, name, seed, output_dir, prefix)
        run.samples = len(list(output_dir.glob(f"{prefix}_*.npz")))
        for first in range(0, ticks, sample_ticks):
            run.record(min(sample_ticks, ticks - first), last=first + sample_ticks >= ticks)
        venv.close()
        return output_dir / MANIFEST_NAME


class _Run:
    """One capture in progress."""

    def __init__(
        self,
        venv: VectorTownEnv,
        driver: PolicyDriver,
        scored: bool,
        policy: str,
        seed: int,
        output_dir: Path,
        prefix: str,
    ) -> None:
        self.venv, self.driver, self.scored = venv, driver, scored
        self.output_dir, self.prefix = output_dir, prefix
        self.meta = SampleMeta(
            spec=SpecInfo.from_spec(venv.spec),
            options=OPTIONS,
            config_id=venv.config.config_id,
            seed=seed,
            policy=policy,
        )
        self.probe = EpisodeEnds.attach(venv)
        self.returns = AgentReturns(venv.num_rows, venv.slots)
        _, info = venv.reset(seed=seed)
        driver.reset(venv.worlds)
        self.episodes = [self._start(t, info["alive"]) for t in range(venv.num_towns)]
        self.next_id = venv.num_towns
        self.samples = 0

    def _start(self, town: int, alive: npt.NDArray[np.bool_], eid: int | None = None) -> _Episode:
        self.returns.start(town, alive)
        return _Episode(town if eid is None else eid, town, self.venv.towns[town].seed)

    def record(self, ticks: int, *, last: bool) -> None:
        """Step ``ticks`` times and write them as one sample."""
        venv, buf = self.venv, _Buffer(self.venv, ticks, self.scored)
        a = buf.arrays
        for k in range(ticks):
            worlds = venv.worlds
            for name, obs in venv.obs.items():
                a[f"obs.{name}"][k] = obs
            a["masks"][k] = venv.buffers["action_mask"]
            a["tick"][k] = np.repeat([w.tick for w in worlds], venv.slots)
            a["episode"][k] = np.repeat([e.id for e in self.episodes], venv.slots)
            a["decided"][k] = deciding_rows(venv)
            if self.scored:
                scorer: ScoredPolicy = self.driver.policies[0]  # type: ignore[assignment]
                actions, a["values"][k], a["logprobs"][k] = scorer.act_scored(TownRows(worlds))
            else:
                actions = self.driver.act(worlds)
            a["actions"][k] = actions
            _, rewards, terminated, truncated, info = venv.step(actions)
            a["rewards"][k], a["terminated"][k], a["truncated"][k] = rewards, terminated, truncated
            a["acted"][k], a["possessed"][k] = info["acted"], info["possessed"]
            buf.k = k + 1
            self.returns.step(rewards, info["acted"], terminated, info["spawned"])
            for ep in self.episodes:
                ep.ticks += 1
                buf.episodes.setdefault(ep.id, ep)
            for t in info["reset_towns"]:
                self._end(self.episodes[t], worlds[t], complete=True)
                self.episodes[t] = self._start(t, info["alive"], self.next_id)
                self.next_id += 1
            if info["reset_towns"]:
                self.driver.reset(venv.worlds, info["reset_towns"])
        if last:
            for t, ep in enumerate(self.episodes):
                self._end(ep, venv.worlds[t], complete=False)
        self._write(buf)

    def _end(self, ep: _Episode, world: Any, *, complete: bool) -> None:
        kpis = self.probe.pop(world)
        returns = self.returns.finish(ep.town)
        ep.metrics = {
            "return": float(np.mean(returns)) if returns else 0.0,
            "agents": float(len(returns)),
            "queue_conflict_events": kpis["conflicts"],
            "queue_conflict_intensity_sum": kpis["conflict_intensity"],
            "lateness": kpis["lateness"],
            "chats": kpis["chats"],
            "exits": kpis["exits"],
            "self_sufficiency": kpis["self_sufficiency"],
            "attendance": kpis["attendance"],
            "complete": float(complete),
        }

    def _write(self, buf: _Buffer) -> None:
        infos = []
        for ep in buf.episodes.values():
            infos.append(
                EpisodeInfo(
                    episode=ep.id, town=ep.town, seed=ep.seed, ticks=ep.ticks, metrics=ep.metrics
                )
            )
            ep.ticks = 0  # ticks are counted per sample
        meta = self.meta.model_copy(update={"episodes": tuple(infos)})
        path = self.output_dir / f"{self.prefix}_{self.samples:05d}"
        write_sample(path, buf.flat(), meta)
        append_to_manifest(self.output_dir, path)
        self.samples += 1


def _check_manifest(output_dir: Path, venv: VectorTownEnv) -> None:
    """Refuse, before any work, to add samples to a manifest of another spec."""
    path = output_dir / MANIFEST_NAME
    if not path.exists():
        return
    listed = read_manifest(path).spec_hash
    if listed is not None and listed != venv.spec.hash:
        raise ReplayError(
            f"{path}: spec_hash {listed} != {venv.spec.hash} of encoder {venv.spec.encoder!r}: "
            "capture into another directory"
        )
