"""Rollout capture and replay throughput: transitions/s written and read back.

    python benchmarks/bench_capture.py [--ticks 1000] [--towns 8] [--repeat 3] [--json]

- ``capture``: ``RolloutCapture`` with the scripted policy over ``--towns``
  default towns (8 citizens each, encoder ``hybrid``), samples of 250 ticks
  written uncompressed into a manifest: simulation, encoding, rewards,
  copying every transition and writing the files, all included.
- ``rollout, no capture``: the same towns and policy stepped with nothing
  recorded (env construction and resets included, as in a capture).
- ``replay in memory``: ``ReplayDataset.from_manifest`` (checks, sha256,
  load) then one shuffled pass of ``iter_batches(256)`` over the decisions.
- ``replay streaming``: the same pass with ``streaming=True`` (one sample at
  a time, memory-mapped, shuffled within a buffer of 4 samples).

Each rate is the best of ``--repeat`` runs, in transitions (agent-steps) per
second; loading is counted in the replay rates.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from townlet.core.config.loader import load_config
from townlet.core.env import VectorTownEnv
from townlet.core.policies.scripted import ScriptedPolicy, ScriptedPolicyParams
from townlet.core.training import ReplayDataset
from townlet.core.training.capture import RolloutCapture
from townlet.core.world.rows import TownRows

SAMPLE_TICKS = 250
BATCH = 256


def bench_capture(out: Path, ticks: int, towns: int, repeat: int) -> dict[str, Any]:
    """Best-of-``repeat`` capture rate; leaves the last capture in ``out``."""
    config = load_config(None).config
    best = 0.0
    for r in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        RolloutCapture(config).capture(
            "scripted", ticks=ticks, towns=towns, seed=r, output_dir=out, sample_ticks=SAMPLE_TICKS
        )
        seconds = time.perf_counter() - start
        best = max(best, ticks * towns * config.world.agents / seconds)
    size = sum(p.stat().st_size for p in out.glob("*.npz"))
    return {"form": "capture", "transitions_per_s": round(best), "mb_written": round(size / 1e6)}


def bench_plain(ticks: int, towns: int, repeat: int) -> dict[str, Any]:
    """The same rollout with nothing recorded, for the cost of capturing."""
    best = 0.0
    policy = ScriptedPolicy(ScriptedPolicyParams())
    for r in range(repeat):
        start = time.perf_counter()
        venv = VectorTownEnv(towns, horizon=1000)
        venv.reset(seed=r)
        for _ in range(ticks):
            venv.step(policy.act_many(TownRows(venv.worlds)))
        best = max(best, venv.num_rows * ticks / (time.perf_counter() - start))
    return {"form": "rollout, no capture", "transitions_per_s": round(best)}


def bench_replay(out: Path, streaming: bool, repeat: int) -> dict[str, Any]:
    """Best-of-``repeat`` rate of loading the capture and one pass over its decisions."""
    best = 0.0
    seen = 0
    for r in range(repeat):
        start = time.perf_counter()
        ds = ReplayDataset.from_manifest(out, streaming=streaming)
        seen = sum(len(b["actions"]) for b in ds.iter_batches(BATCH, seed=r))
        best = max(best, seen / (time.perf_counter() - start))
    form = "replay streaming" if streaming else "replay in memory"
    return {"form": form, "transitions_per_s": round(best), "transitions": seen}


def main() -> None:
    """Run the benchmarks and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ticks", type=int, default=1000)
    parser.add_argument("--towns", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="townlet-bench-capture-") as tmp:
        out = Path(tmp) / "rollouts"
        rows = [bench_plain(args.ticks, args.towns, args.repeat)]
        rows.append(bench_capture(out, args.ticks, args.towns, args.repeat))
        rows += [bench_replay(out, streaming, args.repeat) for streaming in (False, True)]
    if args.json:
        print(json.dumps({"python": platform.python_version(), "rows": rows}, indent=2))
        return
    print(f"{args.towns} towns x 8 citizens, {args.ticks} ticks, best of {args.repeat}")
    for row in rows:
        extra = {k: v for k, v in row.items() if k not in ("form", "transitions_per_s")}
        print(f"  {row['form']:<20} {row['transitions_per_s']:>10,} transitions/s  {extra}")


if __name__ == "__main__":
    main()
