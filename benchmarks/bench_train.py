"""PPO end to end: training throughput, and learning against the scripted and random baselines.

    python benchmarks/bench_train.py [--epochs 10] [--towns 8] [--agents 8] [--json]
    python benchmarks/bench_train.py --learn one-citizen [--minutes 10] [--epochs 40]
    python benchmarks/bench_train.py --learn town [--minutes 60] [--epochs 400]

Throughput (the default): ``ppo`` in rollout mode on ``--towns`` default
towns of ``--agents`` citizens (encoder ``hybrid``), 250 ticks per epoch,
default hyperparameters: rollouts, advantages and updates all counted, in
agent-steps per wall-clock second and per CPU second of this process.

``--learn``: train from scratch for at most ``--minutes`` (wall clock) on
the one-citizen town (home and shops, no job) or the default town (8
citizens, jobs on), then ``townlet evaluate`` the policy, ``random`` and
``scripted`` on 16 held-out episodes (seeds 100000…) and print the
normalised score ``(R − R_random) / (R_scripted − R_random)``.

Stable-Baselines3 and RLlib runs on the same town are printed when those
libraries are installed; they are not dependencies of Townlet.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from townlet.core.config import TownletConfig, load_config, parse_override
from townlet.core.training.context import build_context
from townlet.core.training.evaluate import evaluate
from townlet.strategies.ppo import PPOParams, PPOStrategy

HELD_OUT = 100_000
SETUPS = {
    "one-citizen": ("world.agents=1", "world.jobs.jobs=[]", "training.towns=32"),
    "town": ("training.towns=8",),
}
LEARN_EPOCHS = {"one-citizen": 40, "town": 400}
"""Epochs of a ``--learn`` run (the learning rate anneals over them); ``--minutes`` caps time."""


def _config(*overrides: str) -> TownletConfig:
    return load_config(overrides=[parse_override(o) for o in overrides]).config


def _train(
    config: TownletConfig, out: Path, *, minutes: float | None = None, log: bool = False
) -> tuple[Any, float, float]:
    """Run ``ppo``; ``(result, wall seconds, CPU seconds)``."""
    stop = threading.Event()
    start = time.perf_counter()

    def progress(epoch: int, metrics: Mapping[str, float]) -> None:
        if log and epoch % 10 == 0:
            ret = metrics.get("charts/episodic_return")
            print(f"  epoch {epoch}: {metrics['charts/agent_steps']:,.0f} agent-steps, "
                  f"return {ret if ret is None else round(ret, 2)}", flush=True)  # fmt: skip
        if minutes is not None and time.perf_counter() - start > minutes * 60:
            stop.set()

    ctx = build_context(config, out, on_progress=progress, stop=stop)
    cpu = time.process_time()
    strategy = PPOStrategy(PPOParams(**config.training.params))
    try:
        strategy.prepare(ctx)
        result = strategy.run(ctx)
    finally:
        ctx.close()
    return result, time.perf_counter() - start, time.process_time() - cpu


def throughput(epochs: int, towns: int, agents: int) -> dict[str, Any]:
    """Agent-steps per second of ``epochs`` PPO epochs (rollout + update)."""
    config = _config(
        f"world.agents={agents}", f"training.towns={towns}",
        "training.rollout_ticks=250", f"training.epochs={epochs}",
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        result, wall, cpu = _train(config, Path(tmp) / "run")
    return {
        "form": f"ppo {towns} towns x {agents} agents",
        "agent_steps": result.transitions,
        "agent_steps_per_s": round(result.transitions / wall),
        "agent_steps_per_cpu_s": round(result.transitions / cpu),
        "seconds": round(wall, 1),
    }


def learn(setup: str, minutes: float, epochs: int) -> dict[str, Any]:
    """Train on ``setup`` for at most ``minutes``, then the normalised score on held-out seeds."""
    config = _config(*SETUPS[setup], "training.rollout_ticks=250", f"training.epochs={epochs}")
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        result, wall, cpu = _train(config, run, minutes=minutes, log=True)
        reports = {
            name: evaluate(config, name, params, episodes=16, seed=HELD_OUT)
            for name, params in (
                ("random", {}),
                ("scripted", {}),
                ("learned", {"checkpoint": str(run)}),
            )
        }
    r = {name: rep.mean_return for name, rep in reports.items()}
    return {
        "setup": setup,
        "epochs": result.epochs,
        "agent_steps": result.transitions,
        "train_wall_s": round(wall, 1),
        "train_cpu_s": round(cpu, 1),
        "returns": {k: round(v, 2) for k, v in r.items()},
        "self_sufficiency": {k: round(v.kpis["self_sufficiency"], 3) for k, v in reports.items()},
        "normalised_score": round((r["learned"] - r["random"]) / (r["scripted"] - r["random"]), 3),
    }


def others() -> list[str]:
    """Lines about the optional comparison libraries."""
    lines = []
    for lib, label in (("stable_baselines3", "Stable-Baselines3"), ("ray", "RLlib")):
        if importlib.util.find_spec(lib) is None:
            lines.append(f"{label}: not installed, skipped")
        else:
            lines.append(f"{label}: installed, but no runner for it is included here yet")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=None, help="default: 10, or per --learn setup"
    )
    parser.add_argument("--towns", type=int, default=8)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--learn", choices=sorted(SETUPS))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor(),
    }
    if args.learn:
        out = learn(args.learn, args.minutes, args.epochs or LEARN_EPOCHS[args.learn])
    else:
        out = throughput(args.epochs or 10, args.towns, args.agents)
    if args.json:
        print(json.dumps({**out, **env}))
        return
    for key, value in out.items():
        print(f"{key:24} {value}")
    for line in others():
        print(line)


if __name__ == "__main__":
    main()
