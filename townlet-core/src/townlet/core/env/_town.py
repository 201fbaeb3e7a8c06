"""One town as an environment: world and encoder by agent slot; stepping towns with rewards.

:class:`Town` is what every env form shares: one town of a
:class:`~townlet.core.runtime.Runtime` (so installed hook plugins fire in it).
It resets by building a fresh world on its rows of the runtime's storage with
the requested seed and encodes observations into caller-provided buffers.
:func:`step_towns` steps one or more towns with one option per row (their
slots end to end), rewards them with one pipeline and reports, per row, who
acted, who exited (terminated) and who arrived, and per town whether the
horizon was reached (truncated).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.config.loader import load_config, parse_override
from townlet.core.config.models import TownletConfig
from townlet.core.ports import ObservationEncoder
from townlet.core.registry import Registry
from townlet.core.rewards.pipeline import RewardPipeline
from townlet.core.runtime import Runtime
from townlet.core.world.rows import TownRows
from townlet.core.world.tick import step_worlds
from townlet.core.world.world import World

__all__ = ["ConfigSource", "StepResult", "Town", "fresh_seed", "resolve_config"]

ConfigSource = TownletConfig | str | Path | None
"""A config object, a YAML path, ``builtin:NAME`` or ``scenario:NAME``; None: the default town."""


def resolve_config(
    config: ConfigSource = None,
    *,
    scenario: str | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    encoder: str | None = None,
    registry: Registry | None = None,
) -> TownletConfig:
    """Turn the env constructor's config arguments into a validated config.

    ``overrides`` are ``"key.path=value"`` strings or a ``{"key.path": value}``
    mapping, applied like ``--set`` on the command line; ``encoder`` sets
    ``observations.encoder`` after them.
    """
    if config is not None and scenario is not None:
        raise ValueError("pass either a config or a scenario name, not both")
    texts = (
        [f"{k}={_yaml_value(v)}" for k, v in overrides.items()]
        if isinstance(overrides, Mapping)
        else list(overrides)
    )
    if encoder is not None:
        texts.append(f"observations.encoder={_yaml_value(encoder)}")
    parsed = [parse_override(t) for t in texts]
    if isinstance(config, TownletConfig):
        if not parsed:
            return config
        data = config.model_dump(mode="json")
        for ov in parsed:
            target: Any = data
            for part in ov.loc[:-1]:
                target = target.setdefault(part, {}) if isinstance(target, dict) else target[part]
            target[ov.loc[-1]] = ov.value
        return TownletConfig.model_validate(data)
    source = f"scenario:{scenario}" if scenario is not None else config
    return load_config(source, overrides=parsed, registry=registry).config


def fresh_seed() -> int:
    """A world seed from the operating system's entropy, for resets given no seed.

    Copies of an env (vectorising wrappers clone it; distributed runners build
    one per worker) then play different towns unless the caller seeds them.
    """
    return int(np.random.SeedSequence().generate_state(1)[0] & 0x7FFFFFFF)


def _yaml_value(value: Any) -> str:
    """JSON is YAML, and quoting keeps strings like ``off`` strings."""
    return json.dumps(value)


@dataclass
class StepResult:
    """Per-row outcome of one tick of one or more towns (slots end to end)."""

    rewards: npt.NDArray[np.float32]
    acted: npt.NDArray[np.bool_]
    """Rows whose agent was alive before the tick."""
    terminated: npt.NDArray[np.bool_]
    """Rows whose agent exited during the tick."""
    spawned: npt.NDArray[np.bool_]
    """Rows holding a newcomer that arrived during the tick."""
    possessed: npt.NDArray[np.bool_]
    """Rows driven from the operator console (keep them out of training data)."""
    truncated: list[bool]
    """Per town: the episode horizon was reached (every living agent is truncated)."""
    rows: TownRows
    """The towns' rows as they are after the tick, for reading them again this tick
    (its per-row values, such as ticks, are computed once)."""


class Town:
    """Town ``index`` of a runtime, stepped by agent slot (see the module docstring)."""

    def __init__(self, runtime: Runtime, index: int = 0, *, horizon: int = 1000) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1 (got {horizon})")
        if runtime.encoder is None:
            raise ValueError("a town needs a runtime built with encoder=True")
        self.runtime = runtime
        self.index = index
        self.config = runtime.config
        self.horizon = horizon
        self.encoder: ObservationEncoder = runtime.encoder
        self.world: World | None = None
        self.seed = self.config.seed

    @property
    def n_slots(self) -> int:
        """Agent slots of the town (fixed by ``world.agents``)."""
        return self.config.world.agents

    def reset(self, seed: int | None = None) -> World:
        """Build a fresh world on the town's rows (with ``seed`` when given); start an episode."""
        self.seed = self.config.seed if seed is None else int(seed)
        self.world = self.runtime.world(self.index, self.seed)
        return self.world

    def encode(
        self,
        out: MutableMapping[str, npt.NDArray[np.float32]] | None = None,
        rows: TownRows | None = None,
    ) -> Mapping[str, npt.NDArray[np.float32]]:
        """Observations of every slot (into ``out`` when given); ``rows``: the town's
        rows view as it is now, when the caller has one."""
        if self.world is None:
            raise RuntimeError("reset() the town before encoding it")
        return self.encoder.encode(TownRows((self.world,)) if rows is None else rows, out)


def step_towns(
    towns: Sequence[Town], options: npt.NDArray[np.integer[Any]], pipeline: RewardPipeline
) -> StepResult:
    """Advance every town one tick (``options``: one per row) and reward them together.

    ``pipeline`` must have been reset with the towns' current worlds.
    """
    worlds = [town.world for town in towns]
    if any(w is None for w in worlds):
        raise RuntimeError("reset() the town before stepping it")
    live: list[World] = worlds  # type: ignore[assignment]
    pipeline.carry_over(live)
    step_worlds(live, options)
    rows = TownRows(live)
    rewards = pipeline.compute(rows)
    facts = pipeline.facts
    assert facts is not None
    return StepResult(
        rewards=rewards,
        acted=facts.acted,
        terminated=facts.exited,
        spawned=facts.spawned,
        possessed=np.concatenate([w.agents.possessed for w in live]),
        truncated=[w.tick >= town.horizon for w, town in zip(live, towns, strict=True)],
        rows=rows,
    )
