"""Plot PPO's episodic return against agent-steps, with baseline returns as lines.

    python benchmarks/plot_learning.py RUN_DIR --baseline scripted=-28.93 \\
        --baseline random=-55.0 --title "One citizen" -o docs/img/ppo_one_citizen.png

Reads ``RUN_DIR/metrics.jsonl`` (written by ``ppo`` every epoch:
``charts/agent_steps`` and, when agent-episodes ended in the epoch,
``charts/episodic_return``) and draws the return per agent-day (sampled
policy, training episodes) against agent-steps. Baselines (``NAME=RETURN``,
e.g. from ``townlet evaluate``) are drawn as horizontal lines. Needs
matplotlib (not a Townlet dependency).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a ppo run directory")
    parser.add_argument("--baseline", action="append", default=[], help="NAME=RETURN")
    parser.add_argument("--title", default="PPO")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    steps, returns = [], []
    for line in (args.run / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if "charts/episodic_return" in row:
            steps.append(row["charts/agent_steps"])
            returns.append(row["charts/episodic_return"])
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(steps, returns, marker="o", markersize=3, label="ppo (training episodes)")
    for i, spec in enumerate(args.baseline):
        name, _, value = spec.partition("=")
        ax.axhline(float(value), linestyle="--", color=f"C{i + 1}", label=name)
    ax.set_xlabel("agent-steps")
    ax.set_ylabel("return per agent-day")
    ax.set_title(args.title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output)


if __name__ == "__main__":
    main()
