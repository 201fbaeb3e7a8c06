"""Many towns stepped together, with batched arrays and auto-reset.

Rows are agent slots: town ``t``'s slots are rows ``t·S … t·S + S − 1`` of
every array (``S = world.agents``). Each :meth:`VectorTownEnv.step` takes one
option per row and returns:

- ``obs``: one array per spec component, ``[T·S, …]``;
- ``rewards`` ``[T·S]`` float32; ``terminated`` ``[T·S]`` (the row's agent left
  town this step); ``truncated`` ``[T·S]`` (its town hit the horizon);
- ``info``: ``alive`` (rows holding an agent now), ``acted`` (rows whose agent
  acted this step), ``possessed`` (rows driven from the operator console:
  train on ``acted & ~possessed``), ``spawned`` (a newcomer arrived),
  ``action_mask`` ``[T·S, 7]``, ``reset_towns`` (towns that auto-reset this
  step), ``final_obs`` (the last observation of rows of those towns, for
  bootstrapping) and, with ``reward_terms=True``, each stage's rewards.

A town that reaches the horizon is reset at once (same step) with the next
seed of its own seed stream; the returned ``obs`` are the new episode's
first. The arrays are buffers reused by every step: copy what you keep.
Town ``g`` of ``reset(seed=s)`` starts from world seed ``s + g``; ``reset()``
without a seed takes a fresh ``s`` from the operating system (so two vector
envs built alike play different towns unless seeded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.env._town import ConfigSource, Town, fresh_seed, resolve_config, step_towns
from townlet.core.observations.spec import ObservationSpec
from townlet.core.registry import Registry
from townlet.core.rewards.pipeline import RewardPipeline
from townlet.core.rewards.stats import RunningStats
from townlet.core.runtime import build_runtime
from townlet.core.world.options import OPTIONS, action_masks
from townlet.core.world.rows import TownRows
from townlet.core.world.state import AgentArrays
from townlet.core.world.world import World

__all__ = ["VectorTownEnv", "buffer_layout", "step_info"]

Arrays = dict[str, npt.NDArray[Any]]
Info = dict[str, Any]


def buffer_layout(spec: ObservationSpec, rows: int) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name → (shape, dtype) of every buffer a vector env of ``rows`` rows fills."""
    layout: dict[str, tuple[tuple[int, ...], str]] = {}
    for comp in spec.components:
        layout[f"obs.{comp.name}"] = ((rows, *comp.shape), comp.dtype)
        layout[f"final.{comp.name}"] = ((rows, *comp.shape), comp.dtype)
    layout.update(
        {
            "rewards": ((rows,), "float32"),
            "terminated": ((rows,), "bool"),
            "truncated": ((rows,), "bool"),
            "alive": ((rows,), "bool"),
            "acted": ((rows,), "bool"),
            "possessed": ((rows,), "bool"),
            "spawned": ((rows,), "bool"),
            "final_mask": ((rows,), "bool"),
            "action_mask": ((rows, len(OPTIONS)), "bool"),
            "actions": ((rows,), "int64"),
        }
    )
    return layout


def step_info(
    buffers: Mapping[str, npt.NDArray[Any]], final_obs: Arrays, reset_towns: list[int]
) -> Info:
    """The ``info`` dict of a step over the buffers of :func:`buffer_layout`."""
    b = buffers
    return {
        "alive": b["alive"],
        "acted": b["acted"],
        "possessed": b["possessed"],
        "spawned": b["spawned"],
        "action_mask": b["action_mask"],
        "reset_towns": reset_towns,
        "final_obs": final_obs,
        "final_mask": b["final_mask"],
    }


class VectorTownEnv:
    """``num_towns`` towns in this process (see the module docstring)."""

    def __init__(
        self,
        num_towns: int = 8,
        config: ConfigSource = None,
        *,
        scenario: str | None = None,
        overrides: Sequence[str] | Mapping[str, Any] = (),
        encoder: str | None = None,
        horizon: int = 1000,
        reward_terms: bool = False,
        registry: Registry | None = None,
        town_offset: int = 0,
        buffers: Mapping[str, npt.NDArray[Any]] | None = None,
    ) -> None:
        if num_towns < 1:
            raise ValueError(f"num_towns must be >= 1 (got {num_towns})")
        registry = registry or Registry()
        self.config = resolve_config(
            config, scenario=scenario, overrides=overrides, encoder=encoder, registry=registry
        )
        self.horizon = horizon
        self.runtime = build_runtime(
            self.config,
            registry,
            towns=num_towns,
            encoder=True,
            encoder_defaults={"horizon": horizon},
            rewards=True,
        )
        """Hook plugins, agent storage, encoder and reward pipeline of every town."""
        rt = self.runtime
        assert rt.encoder is not None and rt.rewards is not None  # requested above
        enc = rt.encoder
        self.towns = [Town(rt, t, horizon=horizon) for t in range(num_towns)]
        self.num_towns = num_towns
        self.slots = self.config.world.agents
        self.num_rows = num_towns * self.slots
        self.spec: ObservationSpec = enc.spec
        self.town_offset = town_offset
        self.reward_terms = reward_terms
        layout = buffer_layout(self.spec, self.num_rows)
        if buffers is None:
            self.buffers: dict[str, npt.NDArray[Any]] = {
                k: np.zeros(shape, dtype=dtype) for k, (shape, dtype) in layout.items()
            }
        else:
            self.buffers = dict(buffers)
            for key, (shape, dtype) in layout.items():
                got = self.buffers[key]
                if got.shape != shape or got.dtype != np.dtype(dtype):
                    raise ValueError(f"buffer {key}: {got.shape} {got.dtype}, want {shape} {dtype}")
        b = self.buffers
        self.obs: Arrays = {c.name: b[f"obs.{c.name}"] for c in self.spec.components}
        self.final_obs: Arrays = {c.name: b[f"final.{c.name}"] for c in self.spec.components}
        self._seeds: list[np.random.Generator] = []
        self.encoder = enc
        """Encodes every town in one call (their rows end to end)."""
        self.pipeline: RewardPipeline = rt.rewards
        """Rewards every town at once, their slots end to end as rows."""
        self.agent_rows: AgentArrays = rt.agents
        """Agent state of every town, rows end to end: each world's arrays are views of
        its rows, so batched encoding, masks and rewards read them without copying."""

    def _rows(self, t: int) -> slice:
        return slice(t * self.slots, (t + 1) * self.slots)

    @property
    def worlds(self) -> list[World]:
        """The current world of each town (after :meth:`reset`)."""
        worlds = [town.world for town in self.towns]
        if any(w is None for w in worlds):
            raise RuntimeError("reset() the vector env first")
        return worlds  # type: ignore[return-value]

    def reset(self, seed: int | None = None) -> tuple[Arrays, Info]:
        """Start every town afresh; town ``g`` gets world seed ``seed + g`` (a fresh
        ``seed`` when None)."""
        base = fresh_seed() if seed is None else int(seed)
        self._seeds = []
        b = self.buffers
        for t, town in enumerate(self.towns):
            g = self.town_offset + t
            self._seeds.append(np.random.default_rng([base, g]))
            town.reset(base + g)
        self.pipeline.reset(self.worlds)
        self._observe()
        b["rewards"][:] = 0.0
        for key in ("terminated", "truncated", "acted", "possessed", "spawned", "final_mask"):
            b[key][:] = False
        return self.obs, self._info([])

    def skip_episodes(self, episodes: int) -> tuple[Arrays, Info]:
        """Move every town ``episodes`` episodes along its seed stream, restarting it
        with the world seed its ``episodes``-th auto-reset from here would draw.

        Right after ``reset(seed=s)``, ``skip_episodes(n)`` leaves each town at
        the start of its ``n``-th episode (the first is 0), exactly as stepping
        through ``n`` horizons would: a run resumed at an episode boundary goes
        on as if it had not stopped. Returns the new observations and info, as
        :meth:`reset` does; ``0`` changes nothing.
        """
        if episodes < 0:
            raise ValueError(f"episodes must be >= 0 (got {episodes})")
        if not self._seeds:
            raise RuntimeError("reset() the vector env before skipping episodes")
        if episodes == 0:
            return self.obs, self._info([])
        for t, town in enumerate(self.towns):
            seeds = [self._next_seed(t) for _ in range(episodes)]
            town.reset(seeds[-1])
        self.pipeline.reset(self.worlds)
        self._observe()
        b = self.buffers
        b["rewards"][:] = 0.0
        for key in ("terminated", "truncated", "acted", "possessed", "spawned", "final_mask"):
            b[key][:] = False
        return self.obs, self._info([])

    def _next_seed(self, t: int) -> int:
        """The world seed of town ``t``'s next episode (advances its seed stream)."""
        return int(self._seeds[t].integers(2**31 - 1))

    def _observe(self) -> None:
        """Encode every town into the observation buffers; refresh alive and masks."""
        worlds = self.worlds
        rows = TownRows(worlds)
        self.encoder.encode(rows, self.obs)
        b = self.buffers
        b["alive"][:] = self.agent_rows.alive
        masks = b["action_mask"]
        masks[:] = action_masks(rows)
        for t, world in enumerate(worlds):
            world.keep_action_masks(masks[self._rows(t)].copy())

    def step(
        self, actions: npt.NDArray[np.integer[Any]] | None = None
    ) -> tuple[Arrays, npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_], Info]:
        """One tick of every town; ``actions`` is ``[T·S]`` options (default: the
        ``actions`` buffer, which a caller may fill in place)."""
        if not self._seeds:
            raise RuntimeError("reset() the vector env before stepping it")
        b = self.buffers
        if actions is not None:
            b["actions"][:] = actions
        acts = b["actions"]
        rewards, term, trunc = b["rewards"], b["terminated"], b["truncated"]
        b["final_mask"][:] = False
        res = step_towns(self.towns, acts, self.pipeline)
        rewards[:] = res.rewards
        term[:] = res.terminated
        b["acted"][:] = res.acted
        b["possessed"][:] = res.possessed
        b["spawned"][:] = res.spawned
        trunc[:] = False
        reset_towns = [t for t, done in enumerate(res.truncated) if done]
        for t in reset_towns:
            town, rows = self.towns[t], self._rows(t)
            trunc[rows] = res.acted[rows] & ~res.terminated[rows]
            town.encode({k: v[rows] for k, v in self.final_obs.items()})
            b["final_mask"][rows] = True
            world = town.reset(self._next_seed(t))
            self.pipeline.reset_town(t, world, rows)
        self._observe()
        return self.obs, rewards, term, trunc, self._info(reset_towns)

    def _info(self, reset_towns: list[int]) -> Info:
        info = step_info(self.buffers, self.final_obs, reset_towns)
        if self.reward_terms:
            info["reward_terms"] = self.pipeline.breakdown
        return info

    def reward_stats(self) -> RunningStats:
        """Running stats of the rewards of every town."""
        return self.pipeline.stats

    def close(self) -> None:
        """Nothing to release in-process."""
