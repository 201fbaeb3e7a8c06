"""PPO end to end: training throughput, and learning against the scripted and random baselines.

    python benchmarks/bench_train.py [--epochs 10] [--towns 8] [--agents 8] [--json]
    python benchmarks/bench_train.py --learn one-citizen [--minutes 10] [--epochs 40]
    python benchmarks/bench_train.py --learn town [--minutes 60] [--epochs 400]
    python benchmarks/bench_train.py --compare [--steps 200000] [--libs sb3,rllib]

Throughput (the default): ``ppo`` in rollout mode on ``--towns`` default
towns of ``--agents`` citizens (encoder ``hybrid``), 250 ticks per epoch,
default hyperparameters: rollouts, advantages and updates all counted, in
agent-steps per wall-clock second and per CPU second of this process.

``--learn``: train from scratch for at most ``--minutes`` (wall clock) on
the one-citizen town (home and shops, no job) or the default town (8
citizens, jobs on), then ``townlet evaluate`` the policy, ``random`` and
``scripted`` on 16 held-out episodes (seeds 100000…) and print the
normalised score ``(R − R_random) / (R_scripted − R_random)``.

``--compare``: ``ppo``, then Stable-Baselines3 PPO (through SuperSuit) and
RLlib PPO when they are installed (``requirements-bench.txt``; never a
dependency of Townlet), each trained on the default town (8 citizens, no
lifecycle) for the same agent-step budget, then scored on the same held-out
episodes; prints agent-steps/s, wall and CPU seconds and normalised scores.
See ``_baselines.py`` for how the third-party runners are set up and scored.
"""

from __future__ import annotations

import argparse
import json
import math
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

try:
    from . import _baselines as baselines
except ImportError:  # run as a script
    import _baselines as baselines  # type: ignore[no-redef]

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


def compare(steps: int, libs: list[str], seed: int = 0) -> list[dict[str, Any]]:
    """``ppo`` and each installed third-party PPO for ``steps`` agent-steps, then scored.

    Every run trains on 8 copies of the default town (8 citizens: 64 agents
    stepping at once); ``ppo`` rounds ``steps`` up to whole epochs of 250
    ticks and the others are given the agent-steps it ran. Scores: mean
    return / agent-day on 16 held-out episodes, normalised against ``random``
    and ``scripted`` from ``evaluate``; third-party policies run through
    ``TownletParallelEnv`` (``baselines.pettingzoo_return``); an always-``wait``
    policy scored both ways checks that the two paths agree.
    """
    towns, ticks = 8, 1000
    config = _config(f"training.towns={towns}", "training.rollout_ticks=250")
    epochs = math.ceil(steps / (towns * config.world.agents * 250))
    config = _config(
        f"training.towns={towns}", "training.rollout_ticks=250", f"training.epochs={epochs}"
    )
    held = {"episodes": 16, "seed": HELD_OUT}
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        result, wall, cpu = _train(config, run)
        budget = int(result.transitions)
        reports = {
            name: evaluate(config, name, params, ticks=ticks, **held)
            for name, params in (
                ("random", {}),
                ("scripted", {}),
                ("learned", {"checkpoint": str(run)}),
            )
        }
    r_random, r_scripted = reports["random"].mean_return, reports["scripted"].mean_return

    def row(library: str, agent_steps: int, wall: float, cpu: float, ret: float) -> dict[str, Any]:
        score = (ret - r_random) / (r_scripted - r_random)
        return {
            "library": library, "agent_steps": agent_steps,
            "agent_steps_per_s": round(agent_steps / wall), "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "return": round(ret, 2), "normalised_score": round(score, 3),
        }  # fmt: skip

    rows.append(row("townlet ppo", budget, wall, cpu, reports["learned"].mean_return))
    for name in libs:
        absent = baselines.missing(name)
        label = baselines.LIBRARIES[name][0]
        if absent:
            print(f"{label}: {', '.join(absent)} not installed, skipped ({baselines.INSTALL})")
            continue
        print(f"{label}: training for {budget:,} agent-steps", flush=True)
        trained = baselines.run(name, config, budget, towns=towns, ticks=ticks, seed=seed)
        ret = baselines.pettingzoo_return(config, trained.act, ticks=ticks, **held)
        rows.append(row(label, trained.agent_steps, trained.wall_s, trained.cpu_s, ret))
    for r in rows[1:]:  # how many times faster ppo trained than each library
        r["ppo_speedup"] = round(rows[0]["agent_steps_per_s"] / r["agent_steps_per_s"], 1)
    if len(rows) > 1:
        wait = evaluate(config, "random", {"options": ["wait"]}, ticks=ticks, **held).mean_return
        ret = baselines.pettingzoo_return(config, baselines.always_wait, ticks=ticks, **held)
        rows.append({"library": "check: always wait (evaluate)", "return": round(wait, 4)})
        rows.append({"library": "check: always wait (TownletParallelEnv)", "return": round(ret, 4)})
    rows.append({"library": "random (evaluate)", "return": round(r_random, 2)})
    rows.append({"library": "scripted (evaluate)", "return": round(r_scripted, 2)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=None, help="default: 10, or per --learn setup"
    )
    parser.add_argument("--towns", type=int, default=8)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--learn", choices=sorted(SETUPS))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--compare", action="store_true", help="against SB3 and RLlib")
    parser.add_argument("--steps", type=int, default=200_000, help="--compare budget")
    parser.add_argument("--libs", default="sb3,rllib", help="--compare: third-party runners")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor(),
    }
    if args.compare:
        rows = compare(args.steps, [n for n in args.libs.split(",") if n])
        if args.json:
            print(json.dumps({"compare": rows, **env}))
            return
        cols = ("library", "agent_steps", "agent_steps_per_s", "wall_s", "cpu_s", "return",
                "normalised_score", "ppo_speedup")  # fmt: skip
        print(" | ".join(cols))
        for r in rows:
            print(" | ".join(str(r.get(c, "")) for c in cols))
        return
    if args.learn:
        out = learn(args.learn, args.minutes, args.epochs or LEARN_EPOCHS[args.learn])
    else:
        out = throughput(args.epochs or 10, args.towns, args.agents)
    if args.json:
        print(json.dumps({**out, **env}))
        return
    for key, value in out.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
