"""What the stability monitor costs ``townlet run``: CPU time per tick of
``StabilityMonitor.observe`` against the world step it watches.

    python benchmarks/bench_stability.py [--ticks 3000] [--agents 8 64] [--repeat 3]

Steps a default town with the scripted policy and times, per tick, the step
(policy included) and the monitor's ``observe`` separately in CPU time
(best of ``--repeat`` seeds), so load on the other core does not skew the
ratio.
"""

from __future__ import annotations

import argparse
import json
import time

from townlet.core.config import load_config, parse_override
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.stability import StabilityMonitor
from townlet.core.world.world import World


def measure(agents: int, ticks: int, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` CPU µs per tick of the step and of ``observe``."""
    step_us, observe_us = float("inf"), float("inf")
    for seed in range(repeat):
        sets = [f"world.agents={agents}", f"seed={seed}"]
        world = World.from_config(load_config(overrides=[parse_override(s) for s in sets]).config)
        policy = ScriptedPolicy(ScriptedPolicyParams())
        policy.reset(world, world.rng.policy)
        monitor = StabilityMonitor()
        monitor.start(world)
        stepping = observing = 0.0
        for _ in range(ticks):
            t0 = time.process_time()
            world.step(policy.act(world))
            t1 = time.process_time()
            monitor.observe(world)
            observing += time.process_time() - t1
            stepping += t1 - t0
        step_us = min(step_us, stepping / ticks * 1e6)
        observe_us = min(observe_us, observing / ticks * 1e6)
    return {
        "agents": agents,
        "step_us": round(step_us, 1),
        "observe_us": round(observe_us, 2),
        "overhead": round(observe_us / step_us, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=3000)
    parser.add_argument("--agents", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    args = parser.parse_args()
    if not args.json:
        print("| citizens | step µs/tick | observe µs/tick | overhead |")
        print("|---:|---:|---:|---:|")
    for agents in args.agents:
        row = measure(agents, args.ticks, args.repeat)
        if args.json:
            print(json.dumps(row))
        else:
            print(
                f"| {agents} | {row['step_us']:.0f} | {row['observe_us']:.1f} "
                f"| {row['overhead']:.1%} |"
            )


if __name__ == "__main__":
    main()
