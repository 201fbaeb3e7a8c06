"""Environment throughput: agent-steps/s with scripted actions, encoding and rewards.

    python benchmarks/bench_env.py [--steps 2000] [--towns 8] [--repeat 3] [--ratio] [--json]

- ``vector``: ``VectorTownEnv`` with ``--towns`` default towns (8 agents each)
  per encoder, actions from the scripted policy for all towns at once
  (``act_many``), one process,
  one core. ``env only`` leaves out the time the scripted policy takes.
  ``vector h=1000`` is the same with a 1,000-tick horizon, so the cost of
  auto-resetting towns is included.
- ``subproc``: the same towns in ``SubprocVectorTownEnv`` with 2 workers.
- ``pettingzoo``: one town through the plain ``ParallelEnv`` API, a Python
  dict of actions per step.
- ``pettingzoo/bare``: one town through the ``ParallelEnv`` API against the
  bare world step (``World.step``), both with random legal actions drawn from
  the masks, measured alternately in this process: the share of the
  simulation's speed a PettingZoo user keeps (target >= 0.5). ``--ratio``
  runs these rows only.

Reports the best of ``--repeat`` runs after ``WARMUP`` untimed steps; every
step includes world simulation, observation encoding and the standard reward
pipeline.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any

import numpy as np

from townlet.core.env import SubprocVectorTownEnv, VectorTownEnv
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.rows import TownRows

ENCODERS = ("full", "hybrid", "compact")
WARMUP = 100
"""Untimed steps first (first-touch costs, one-off allocations)."""


def bench_vector(
    encoder: str, towns: int, steps: int, repeat: int, horizon: int = 10**9
) -> dict[str, Any]:
    """Best-of-``repeat`` rates of a vector of towns."""
    best = best_env = 0.0
    policy = ScriptedPolicy(ScriptedPolicyParams())
    for r in range(repeat):
        venv = VectorTownEnv(towns, encoder=encoder, horizon=horizon)
        venv.reset(seed=r)
        for _ in range(WARMUP):
            venv.step(policy.act_many(TownRows(venv.worlds)))
        acting = env_time = 0.0
        start = time.perf_counter()
        for _ in range(steps):
            t0 = time.perf_counter()
            actions = policy.act_many(TownRows(venv.worlds))
            t1 = time.perf_counter()
            venv.step(actions)
            acting += t1 - t0
            env_time += time.perf_counter() - t1
        total = time.perf_counter() - start
        best = max(best, venv.num_rows * steps / total)
        best_env = max(best_env, venv.num_rows * steps / env_time)
    return {
        "form": "vector" if horizon == 10**9 else f"vector h={horizon}",
        "encoder": encoder,
        "towns": towns,
        "agent_steps_per_s": round(best),
        "env_only_agent_steps_per_s": round(best_env),
    }


def bench_subproc(encoder: str, towns: int, steps: int, workers: int) -> dict[str, Any]:
    """Rate of the multiprocess vector (random valid actions: the policy runs nowhere)."""
    with SubprocVectorTownEnv(towns, encoder=encoder, horizon=10**9, num_workers=workers) as env:
        _, info = env.reset(seed=0)
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for _ in range(steps):
            mask = info["action_mask"]
            choice = rng.random(mask.shape) * mask
            _, _, _, _, info = env.step(choice.argmax(axis=1))
        rate = env.num_rows * steps / (time.perf_counter() - start)
    return {
        "form": f"subproc×{workers}",
        "encoder": encoder,
        "towns": towns,
        "agent_steps_per_s": round(rate),
    }


def bench_pettingzoo(encoder: str, steps: int, repeat: int) -> dict[str, Any]:
    """Best-of-``repeat`` rate of one town through the ParallelEnv API."""
    from townlet.core.env import TownletParallelEnv

    best = 0.0
    policy = ScriptedPolicy(ScriptedPolicyParams())
    for r in range(repeat):
        env = TownletParallelEnv(encoder=encoder, horizon=10**9)
        env.reset(seed=r)
        world = env.town.world
        for _ in range(WARMUP):
            env.step(dict.fromkeys(env.agents, 0))
        agent_steps = 0
        start = time.perf_counter()
        for _ in range(steps):
            options = policy.act(world)
            slots = {a: i for i, a in enumerate(world.agent_ids)}
            actions = {a: int(options[slots[a]]) for a in env.agents}
            env.step(actions)
            agent_steps += len(actions)
        best = max(best, agent_steps / (time.perf_counter() - start))
    return {"form": "pettingzoo", "encoder": encoder, "towns": 1, "agent_steps_per_s": round(best)}


def _random_legal(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """One random allowed option per row of ``masks``."""
    return (rng.random(masks.shape) * masks).argmax(axis=1)


def _bare_rate(encoder: str, steps: int, seed: int) -> float:
    """Agent-steps/s of ``World.step`` alone (random legal actions)."""
    from townlet.core.env import TownletParallelEnv
    from townlet.core.world.world import World

    cfg = TownletParallelEnv(encoder=encoder).config
    world = World.from_config(cfg.model_copy(update={"seed": seed}))
    rng = np.random.default_rng(seed)
    agent_steps = 0
    for k in range(WARMUP + steps):
        if k == WARMUP:
            agent_steps = 0
            start = time.perf_counter()
        agent_steps += int(np.count_nonzero(world.agents.alive))
        world.step(_random_legal(rng, world.action_masks()))
    return agent_steps / (time.perf_counter() - start)


def _pettingzoo_rate(encoder: str, steps: int, seed: int) -> float:
    """Agent-steps/s of one town through the ParallelEnv API (random legal actions)."""
    from townlet.core.env import TownletParallelEnv

    env = TownletParallelEnv(encoder=encoder, horizon=10**9)
    _, infos = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    agent_steps = 0
    for k in range(WARMUP + steps):
        if k == WARMUP:
            agent_steps = 0
            start = time.perf_counter()
        agents = env.agents
        choice = _random_legal(rng, np.stack([infos[a]["action_mask"] for a in agents]))
        _, _, _, _, infos = env.step(dict(zip(agents, choice.tolist(), strict=True)))
        agent_steps += len(agents)
    return agent_steps / (time.perf_counter() - start)


def bench_ratio(encoder: str, steps: int, repeat: int) -> dict[str, Any]:
    """Best-of-``repeat`` PettingZoo and bare-step rates, measured alternately, and their ratio."""
    bare = pettingzoo = 0.0
    for r in range(repeat):
        bare = max(bare, _bare_rate(encoder, steps, r))
        pettingzoo = max(pettingzoo, _pettingzoo_rate(encoder, steps, r))
    return {
        "form": "pettingzoo/bare",
        "encoder": encoder,
        "towns": 1,
        "agent_steps_per_s": round(pettingzoo),
        "bare_agent_steps_per_s": round(bare),
        "ratio": round(pettingzoo / bare, 3),
    }


def main() -> None:
    """Run every benchmark and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--towns", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ratio", action="store_true", help="only the pettingzoo/bare rows")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    if not args.ratio:
        rows += [bench_vector(e, args.towns, args.steps, args.repeat) for e in ENCODERS]
        rows.append(bench_vector("full", args.towns, args.steps, args.repeat, horizon=1000))
        rows.append(bench_subproc("full", args.towns, args.steps, args.workers))
    try:
        import pettingzoo  # noqa: F401
    except ImportError:
        print("pettingzoo is not installed (pip install 'townlet-core[env]'): skipping its rows")
    else:
        if not args.ratio:
            rows += [bench_pettingzoo(e, args.steps, args.repeat) for e in ENCODERS]
        rows += [bench_ratio(e, args.steps, args.repeat) for e in ENCODERS]
    if args.json:
        print(json.dumps({"python": platform.python_version(), "results": rows}))
        return
    print(
        f"environments, {args.steps} steps, best of {args.repeat}; scripted actions"
        " (pettingzoo/bare: random legal actions)"
    )
    print(
        f"{'form':<15} {'encoder':<8} {'towns':>5} {'agent-steps/s':>14} {'env only':>10}"
        f" {'bare step':>10} {'ratio':>6}"
    )
    for row in rows:
        env_only = row.get("env_only_agent_steps_per_s")
        extra = f"{env_only:>10,}" if env_only else f"{'':>10}"
        bare = row.get("bare_agent_steps_per_s")
        if bare:
            extra += f" {bare:>10,} {row['ratio']:>6.2f}"
        print(
            f"{row['form']:<15} {row['encoder']:<8} {row['towns']:>5} "
            f"{row['agent_steps_per_s']:>14,} {extra}"
        )


if __name__ == "__main__":
    main()
