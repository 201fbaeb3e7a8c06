"""Vectorised towns spread over worker processes, sharing memory with the caller.

:class:`SubprocVectorTownEnv` behaves like :class:`VectorTownEnv` (same rows,
arrays, auto-reset and seeds, so the same seed gives the same numbers) but
runs its towns in ``num_workers`` processes. Every array lives in shared
memory: workers write observations, rewards and flags in place and the
caller writes actions in place; only short commands cross the pipes.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.config.models import TownletConfig
from townlet.core.env._town import ConfigSource, fresh_seed, resolve_config
from townlet.core.env.vector import Arrays, Info, VectorTownEnv, buffer_layout, step_info
from townlet.core.registry import Registry
from townlet.core.rewards.stats import RunningStats
from townlet.core.runtime import build_runtime

__all__ = ["SubprocVectorTownEnv"]

_Shared = dict[str, tuple[Any, tuple[int, ...], str]]


def _views(shared: _Shared, rows: slice) -> dict[str, npt.NDArray[Any]]:
    out = {}
    for key, (raw, shape, dtype) in shared.items():
        full = np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape))).reshape(shape)
        out[key] = full[rows]
    return out


def _worker(
    conn: Connection,
    config: TownletConfig,
    horizon: int,
    num_towns: int,
    offset: int,
    shared: _Shared,
) -> None:
    try:
        slots = config.world.agents
        rows = slice(offset * slots, (offset + num_towns) * slots)
        env = VectorTownEnv(
            num_towns, config, horizon=horizon, town_offset=offset, buffers=_views(shared, rows)
        )
        conn.send(("ready", None))
    except Exception:  # report any start-up failure to the parent
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        cmd, arg = conn.recv()
        try:
            if cmd == "reset":
                _, info = env.reset(arg)
                conn.send(("ok", []))
            elif cmd == "step":
                _, _, _, _, info = env.step(None)
                conn.send(("ok", [offset + t for t in info["reset_towns"]]))
            elif cmd == "stats":
                conn.send(("ok", env.reward_stats()))
            elif cmd == "close":
                conn.send(("ok", None))
                return
            else:
                conn.send(("error", f"unknown command {cmd!r}"))
        except Exception:  # keep the worker answering; the parent raises
            conn.send(("error", traceback.format_exc()))


class SubprocVectorTownEnv:
    """``num_towns`` towns in ``num_workers`` processes (see the module docstring)."""

    def __init__(
        self,
        num_towns: int = 8,
        config: ConfigSource = None,
        *,
        num_workers: int = 2,
        scenario: str | None = None,
        overrides: Sequence[str] | Mapping[str, Any] = (),
        encoder: str | None = None,
        horizon: int = 1000,
        context: str = "spawn",
    ) -> None:
        if not 1 <= num_workers <= num_towns:
            raise ValueError(f"num_workers must be within 1..num_towns (got {num_workers})")
        registry = Registry()
        self.config = resolve_config(
            config, scenario=scenario, overrides=overrides, encoder=encoder, registry=registry
        )
        # the workers wire the same runtime; the parent reads its spec and hook failures
        runtime = build_runtime(
            self.config, registry, encoder=True, encoder_defaults={"horizon": horizon}
        )
        assert runtime.encoder is not None  # requested above
        self.spec = runtime.encoder.spec
        self.hook_failures = runtime.hook_failures
        """Hook plugins that failed to import (each worker skips them too)."""
        self.num_towns = num_towns
        self.slots = self.config.world.agents
        self.num_rows = num_towns * self.slots
        self.horizon = horizon
        ctx = mp.get_context(context)
        layout = buffer_layout(self.spec, self.num_rows)
        shared: _Shared = {}
        for key, (shape, dtype) in layout.items():
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            shared[key] = (ctx.RawArray("b", max(nbytes, 1)), shape, dtype)
        self.buffers = _views(shared, slice(None))
        self.obs: Arrays = {c.name: self.buffers[f"obs.{c.name}"] for c in self.spec.components}
        self.final_obs: Arrays = {
            c.name: self.buffers[f"final.{c.name}"] for c in self.spec.components
        }
        split = np.array_split(np.arange(num_towns), num_workers)
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        for part in split:
            parent, child = ctx.Pipe()
            proc = ctx.Process(  # type: ignore[attr-defined]
                target=_worker,
                args=(child, self.config, horizon, len(part), int(part[0]), shared),
                daemon=True,
            )
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)
        self._closed = False
        for conn in self._conns:
            self._expect(conn, "ready")

    def _expect(self, conn: Connection, status: str = "ok") -> Any:
        try:
            got, payload = conn.recv()
        except (EOFError, OSError) as exc:
            self.close()
            raise RuntimeError(f"a town worker exited unexpectedly ({exc!r})") from exc
        if got != status:
            self.close()
            raise RuntimeError(f"a town worker failed:\n{payload}")
        return payload

    def _all(self, cmd: str, arg: Any = None) -> list[Any]:
        for conn in self._conns:
            conn.send((cmd, arg))
        return [self._expect(conn) for conn in self._conns]

    def _info(self, reset_towns: list[int]) -> Info:
        return step_info(self.buffers, self.final_obs, reset_towns)

    def reset(self, seed: int | None = None) -> tuple[Arrays, Info]:
        """Start every town afresh (town ``g`` gets world seed ``seed + g``; a fresh
        ``seed`` when None, drawn here so that every worker uses the same one)."""
        self._all("reset", fresh_seed() if seed is None else int(seed))
        return self.obs, self._info([])

    def step(
        self, actions: npt.NDArray[np.integer[Any]] | None = None
    ) -> tuple[Arrays, npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.bool_], Info]:
        """One tick of every town in parallel (``actions``: ``[T·S]`` options)."""
        if actions is not None:
            self.buffers["actions"][:] = actions
        resets = [t for part in self._all("step") for t in part]
        b = self.buffers
        return self.obs, b["rewards"], b["terminated"], b["truncated"], self._info(resets)

    def reward_stats(self) -> RunningStats:
        """Running reward stats of every town, merged."""
        out = RunningStats()
        for stats in self._all("stats"):
            out.merge(stats)
        return out

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for conn in self._conns:
            try:
                conn.send(("close", None))
                conn.recv()
            except (OSError, EOFError):
                pass
            conn.close()
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)

    def __enter__(self) -> SubprocVectorTownEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()
