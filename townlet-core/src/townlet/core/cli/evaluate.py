"""``townlet evaluate``: fixed-seed, paired evaluation of a Policy plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from townlet.core.cli.options import config_options, load_from_options
from townlet.core.registry import Registry
from townlet.core.training.backends import BACKENDS
from townlet.core.training.dto import EvaluationReport
from townlet.core.training.evaluate import evaluate as run_evaluation

__all__ = ["evaluate", "format_report"]


@click.command()
@click.argument("config_path", metavar="[CONFIG]", required=False, type=click.Path(path_type=Path))
@click.option(
    "--episodes", type=click.IntRange(min=1), default=8, show_default=True, help="Episodes to run."
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Episode e runs world seed SEED+e.",
)
@click.option(
    "--towns", type=click.IntRange(min=1), help="Episodes run side by side [default: up to 8]."
)
@click.option("--ticks", type=click.IntRange(min=1), help="Ticks per episode [default: 1 sim day].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="local",
    show_default=True,
    help="Run the episodes here, or spread them over Ray workers (training.ray.*; needs "
    "townlet-strategies[ray]); the report is the same.",
)
@config_options
def evaluate(
    config_path: Path | None,
    episodes: int,
    seed: int,
    towns: int | None,
    ticks: int | None,
    as_json: bool,
    backend: str,
    **options: Any,
) -> None:
    """Evaluate a policy on CONFIG (default: the built-in town) with fixed seeds.

    Pick the policy with --policy NAME and its params with
    --set policy.params.KEY=VALUE. The same --seed, --episodes, --towns and
    --ticks give every policy the same worlds, so reports compare row by row.
    """
    registry = Registry()
    config = load_from_options(config_path, options, registry).config
    report = run_evaluation(
        config,
        config.policy.name,
        config.policy.params,
        episodes=episodes,
        seed=seed,
        towns=towns,
        ticks=ticks,
        registry=registry,
        backend=backend,
    )
    click.echo(report.model_dump_json(indent=2) if as_json else format_report(report))


def format_report(r: EvaluationReport) -> str:
    """The human-readable report: the return with its interval, then the KPIs."""
    low, high = r.return_ci95
    seeds = f"{r.seeds[0]}" if r.episodes == 1 else f"{r.seeds[0]}..{r.seeds[-1]}"
    lines = [
        f"{r.policy} on {r.config_id}: {r.episodes} episode(s) x {r.ticks:,} ticks, "
        f"seeds {seeds}, {r.agents} agent-episodes",
        "",
        f"  {'metric':<22}{'value':>10}",
        f"  {'return/agent-episode':<22}{r.mean_return:>10.3f}   95% CI [{low:.3f}, {high:.3f}]",
    ]
    lines += [f"  {name:<22}{value:>10.4g}" for name, value in r.kpis.items()]
    lines += ["", "  episode returns: " + " ".join(f"{v:.2f}" for v in r.episode_returns)]
    return "\n".join(lines)
