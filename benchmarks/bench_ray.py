"""PPO end to end with rollouts in this process and on Ray workers (docs/scale-out.md).

    python benchmarks/bench_ray.py [--epochs 10] [--towns 8] [--agents 8] [--workers 1,2] [--json]
    python benchmarks/bench_ray.py --rllib [--iterations 3]

Trains ``ppo`` (default hyperparameters, 250 ticks per epoch) on ``--towns``
default towns of ``--agents`` citizens with the local backend, then with
``training.backend: ray`` at each worker count of ``--workers`` (the towns
split evenly over the workers, one CPU each) on a local Ray runtime of all
this machine's CPUs, started once before the runs (its start-up is not
counted; creating the workers is). Prints agent-steps per wall-clock second
of the whole run and of its steady epochs (all but the first). Needs
``pip install 'townlet-strategies[ray]'``; without it, says so and exits.

``--rllib``: RLlib's PPO through ``TownletMultiAgentEnv`` with one shared
policy (``shared_policy_ppo_config``) on the default town with lifecycle on
(8 citizens, exits and arrivals), sampling in this process (no remote env
runners, one torch thread), ``ppo``'s batch shape (2,000 ticks = 16,000 agent-steps, 4 epochs of
4 minibatches): agent-steps per wall-clock second over ``--iterations``
iterations after the first. Needs ``townlet-strategies[ray,rllib]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from townlet.core.config import load_config, parse_override
from townlet.core.training.context import build_context
from townlet.strategies.ppo import PPOParams, PPOStrategy


def run(backend: str, workers: int, *, epochs: int, towns: int, agents: int) -> dict[str, Any]:
    """One ``ppo`` run; its throughput."""
    overrides = [
        f"world.agents={agents}", f"training.towns={towns}", "training.rollout_ticks=250",
        f"training.epochs={epochs}", f"training.backend={backend}",
        f"training.ray.num_workers={workers}",
    ]  # fmt: skip
    config = load_config(overrides=[parse_override(o) for o in overrides]).config
    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(config, Path(tmp) / "run")
        start = time.perf_counter()
        try:
            result = PPOStrategy(PPOParams()).run(ctx)
        finally:
            ctx.close()
        wall = time.perf_counter() - start
        lines = (Path(tmp) / "run" / "epochs.jsonl").read_text().splitlines()
    steady = [json.loads(line)["steps_per_sec"] for line in lines[1:]]
    return {
        "form": "local" if backend == "local" else f"ray, {workers} worker(s)",
        "towns": towns,
        "agents": agents,
        "agent_steps": result.transitions,
        "seconds": round(wall, 1),
        "agent_steps_per_s": round(result.transitions / wall),
        "steady_agent_steps_per_s": round(statistics.median(steady)) if steady else None,
    }


def rllib(iterations: int) -> dict[str, Any]:
    """RLlib PPO through the adapter; its throughput after a warm-up iteration."""
    import torch

    from townlet.strategies.ray.rllib import shared_policy_ppo_config

    torch.set_num_threads(1)  # as ppo: torch's default of one thread per core is far slower here
    env_config = {"overrides": {"features.lifecycle": True}, "horizon": 1000}
    config = (
        shared_policy_ppo_config(env_config)
        .env_runners(num_env_runners=0)
        .training(train_batch_size_per_learner=2000, minibatch_size=500, num_epochs=4)
        .debugging(seed=0)
    )
    algo = config.build_algo()
    try:
        algo.train()  # warm-up: module built, first batch sampled
        start, steps = time.perf_counter(), 0
        for _ in range(iterations):
            sampled = algo.train()["env_runners"]["num_agent_steps_sampled"]
            steps += int(sum(v for v in sampled.values() if v == v))  # NaN: agent absent
        wall = time.perf_counter() - start
    finally:
        algo.stop()
    return {
        "form": "rllib ppo (adapter)",
        "agent_steps": steps,
        "seconds": round(wall, 1),
        "agent_steps_per_s": round(steps / wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--towns", type=int, default=8)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--rllib", action="store_true", help="RLlib PPO through the adapter")
    parser.add_argument("--iterations", type=int, default=3, help="--rllib: timed iterations")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if importlib.util.find_spec("ray") is None:
        print("bench_ray: ray is not installed; pip install 'townlet-strategies[ray]' to run it")
        return
    import ray

    ray.init(include_dashboard=False, log_to_driver=False)
    if args.rllib:
        row = rllib(args.iterations)
        ray.shutdown()
        print(json.dumps(row) if args.json else f"{row['form']}: {row['agent_steps_per_s']:,} "
              f"agent-steps/s ({row['agent_steps']:,} in {row['seconds']} s)")  # fmt: skip
        return
    size = {"epochs": args.epochs, "towns": args.towns, "agents": args.agents}
    rows = [run("local", 1, **size)]
    rows += [run("ray", int(w), **size) for w in args.workers.split(",")]
    ray.shutdown()
    if args.json:
        print(json.dumps({"machine": platform.processor(), "cpus": os.cpu_count(), "rows": rows}))
        return
    print(f"{os.cpu_count()} CPUs; {args.towns} towns x {args.agents} agents, {args.epochs} epochs")
    print(f"{'form':<20}{'agent-steps/s':>15}{'steady':>10}{'seconds':>10}")
    for r in rows:
        print(f"{r['form']:<20}{r['agent_steps_per_s']:>15,}"
              f"{r['steady_agent_steps_per_s'] or 0:>10,}{r['seconds']:>10}")  # fmt: skip


if __name__ == "__main__":
    main()
