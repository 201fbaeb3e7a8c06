"""Telemetry throughput: the hub feeding the jsonl sink, against the null sink.

    python benchmarks/bench_telemetry.py [--ticks 5000] [--agents 8] [--repeat 3] [--json]

A synthetic town (the repository's ``tools/synthetic_town.py``, every agent's needs
changing every tick) stands in for the simulation. Two measurements, best of
``--repeat`` each:

- **throughput**: snapshots generated beforehand, then published as fast as
  possible until the sink has written everything (``stop()`` returned):
  messages/s and bytes/s written, and the producer's cost per tick;
- **tick loop**: generating and publishing each tick, as a run does; ticks/s
  with ``jsonl`` (plain and gzip) as a share of ticks/s with ``null``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from townlet.core.config.models import TelemetryConfig
from townlet.core.ports import TelemetrySink
from townlet.core.telemetry import TelemetryHub
from townlet.core.telemetry.sinks import NullParams, NullSink
from townlet.telemetry.sinks.jsonl import JsonlParams, JsonlSink

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ ships in no wheel
from tools.synthetic_town import SyntheticTown

CONFIG = TelemetryConfig(health_every=1000, flush_timeout_s=60)


def _sink(kind: str, directory: Path) -> TelemetrySink:
    if kind == "null":
        return NullSink(NullParams())
    return JsonlSink(JsonlParams(path=str(directory / "run.jsonl"), gzip=kind == "jsonl+gzip"))


def _written(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("run.jsonl*"))


def throughput(kind: str, worlds: list[dict[str, Any]], repeat: int) -> dict[str, Any]:
    """Publish pre-generated worlds flat out; time until everything is written."""
    best: dict[str, Any] = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            hub = TelemetryHub([(kind, _sink(kind, Path(tmp)))], CONFIG)
            hub.start()
            start = time.perf_counter()
            for tick, world in enumerate(worlds, start=1):
                hub.publish_world(tick, world)
            produced = time.perf_counter() - start
            health = hub.stop().sinks[0]
            elapsed = time.perf_counter() - start
            row = {
                "sink": kind,
                "messages": health.delivered,
                "dropped": health.dropped_messages,
                "messages_per_s": round(health.delivered / elapsed),
                "file_bytes_per_s": round(_written(Path(tmp)) / elapsed),
                "publish_us_per_tick": round(produced / len(worlds) * 1e6, 1),
            }
        if not best or row["messages_per_s"] > best["messages_per_s"]:
            best = row
    return best


def tick_loop(kind: str, agents: int, ticks: int, seed: int) -> float:
    """Ticks/s of a loop that builds each world and publishes it."""
    with tempfile.TemporaryDirectory() as tmp:
        town = SyntheticTown(n_agents=agents, seed=seed)
        hub = TelemetryHub([(kind, _sink(kind, Path(tmp)))], CONFIG)
        hub.start()
        start = time.perf_counter()
        for _ in range(ticks):
            world = town.step()
            hub.publish_world(town.tick, world)
        rate = ticks / (time.perf_counter() - start)
        hub.stop()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    town = SyntheticTown(n_agents=args.agents, seed=0)
    worlds = [town.step() for _ in range(args.ticks)]
    gc.freeze()  # keep the collector from walking the pre-built worlds over and over
    kinds = ("null", "jsonl", "jsonl+gzip")
    rows = [throughput(kind, worlds, args.repeat) for kind in kinds]
    loop = dict.fromkeys(kinds, 0.0)
    for seed in range(args.repeat):  # interleaved, so drifting machine load hits all alike
        for kind in kinds:
            loop[kind] = max(loop[kind], tick_loop(kind, args.agents, args.ticks, seed))
    if args.json:
        doc = {"python": platform.python_version(), "throughput": rows, "tick_loop": loop}
        print(json.dumps(doc))
        return
    print(
        f"telemetry, synthetic town of {args.agents} agents, {args.ticks} ticks, "
        f"best of {args.repeat}"
    )
    print(f"{'sink':>11} {'messages/s':>11} {'MB/s':>7} {'publish µs/tick':>16} {'dropped':>8}")
    for row in rows:
        print(
            f"{row['sink']:>11} {row['messages_per_s']:>11,} "
            f"{row['file_bytes_per_s'] / 1e6:>7.2f} {row['publish_us_per_tick']:>16.1f} "
            f"{row['dropped']:>8}"
        )
    print("tick loop (build the world, publish it):")
    for kind in kinds:
        share = loop[kind] / loop["null"]
        print(f"{kind:>11} {loop[kind]:>11,.0f} ticks/s  {share:.0%} of null")


if __name__ == "__main__":
    main()
