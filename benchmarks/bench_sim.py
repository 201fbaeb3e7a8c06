"""Simulation throughput: ticks/s and agent-steps/s, scripted policy, no telemetry.

    python benchmarks/bench_sim.py [--ticks 3000] [--agents 8 64] [--repeat 3]

Reports the best of ``--repeat`` runs per population (one core, one process),
for the plain town and with the social layer on (relationships stage C,
lifecycle, perturbations), and the social layer's cost.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from townlet.core.config import load_config, parse_override
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.world.world import World

SOCIAL = (
    "features.stages.relationships=C",
    "features.lifecycle=true",
    "world.perturbations.enabled=true",
)


def measure(agents: int, ticks: int, repeat: int, social: bool = False) -> dict[str, float]:
    """Best-of-``repeat`` throughput for a default town with ``agents`` citizens."""
    best = 0.0
    for seed in range(repeat):
        sets = [f"world.agents={agents}", f"seed={seed}", *(SOCIAL if social else ())]
        config = load_config(overrides=[parse_override(s) for s in sets]).config
        world = World.from_config(config)
        policy = ScriptedPolicy(ScriptedPolicyParams())
        policy.reset(world, world.rng.policy)
        start = time.perf_counter()
        for _ in range(ticks):
            world.step(policy.act(world))
        best = max(best, ticks / (time.perf_counter() - start))
    return {
        "social": social,
        "agents": agents,
        "ticks_per_s": round(best, 1),
        "agent_steps_per_s": round(best * agents, 1),
    }


def measure_sinks(ticks: int, repeat: int) -> dict[str, float]:
    """Ticks/s of ``townlet run``'s loop with the null sink and with the jsonl sink."""
    from townlet.core.registry import Registry
    from townlet.core.sim import Simulation

    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("null", "jsonl"):
            params = f"{{path: '{Path(tmp) / 'run.jsonl'}'}}" if name == "jsonl" else "{}"
            for seed in range(repeat):
                sets = [f"seed={seed}", f"telemetry.sinks=[{{name: '{name}', params: {params}}}]"]
                config = load_config(overrides=[parse_override(s) for s in sets]).config
                summary = Simulation(config, Registry()).run(ticks)
                best[name] = max(best.get(name, 0.0), summary.ticks_per_second)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=3000)
    parser.add_argument("--agents", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [
        measure(n, args.ticks, args.repeat, social) for social in (False, True) for n in args.agents
    ]
    if args.json:
        print(json.dumps({"python": platform.python_version(), "results": rows}))
        return
    print(f"simulation, scripted policy, no telemetry, {args.ticks} ticks, best of {args.repeat}")
    print(f"{'layer':>7} {'agents':>7} {'ticks/s':>10} {'agent-steps/s':>14}")
    for row in rows:
        layer = "social" if row["social"] else "plain"
        print(
            f"{layer:>7} {row['agents']:>7} {row['ticks_per_s']:>10,.0f}"
            f" {row['agent_steps_per_s']:>14,.0f}"
        )
    for n in args.agents:
        plain, social = (r["ticks_per_s"] for r in rows if r["agents"] == n)
        print(f"social layer cost with {n} citizens: {1 - social / plain:.0%} of ticks/s")
    sinks = measure_sinks(args.ticks, args.repeat)
    print(
        f"townlet run loop, 8 citizens: null sink {sinks['null']:,.0f} ticks/s, jsonl sink "
        f"{sinks['jsonl']:,.0f} ticks/s ({sinks['jsonl'] / sinks['null']:.0%} of null)"
    )


if __name__ == "__main__":
    main()
