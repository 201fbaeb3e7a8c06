"""``townlet capture-rollout``: record a policy's rollouts as replay samples."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from townlet.core.cli.options import config_options, load_from_options
from townlet.core.registry import Registry
from townlet.core.training.capture import RolloutCapture
from townlet.core.training.replay_format import read_manifest

__all__ = ["capture_rollout"]


@click.command("capture-rollout")
@click.argument("config_path", metavar="[CONFIG]", required=False, type=click.Path(path_type=Path))
@click.option(
    "--output",
    "output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the samples and manifest.json.",
)
@click.option("--ticks", type=click.IntRange(min=1), required=True, help="Ticks to capture.")
@click.option(
    "--towns", type=click.IntRange(min=1), default=8, show_default=True, help="Towns side by side."
)
@click.option(
    "--seed", type=click.IntRange(min=0), help="Town t starts from seed SEED+t [default: config's]."
)
@click.option(
    "--sample-ticks",
    type=click.IntRange(min=1),
    help="Ticks per sample file [default: about 64 MiB per sample].",
)
@click.option(
    "--horizon",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Episode length in ticks; towns reset when they reach it.",
)
@config_options
def capture_rollout(
    config_path: Path | None,
    output: Path,
    ticks: int,
    towns: int,
    seed: int | None,
    sample_ticks: int | None,
    horizon: int,
    **options: Any,
) -> None:
    """Run CONFIG's policy (or --policy NAME) and write the rollouts to --output.

    Every row of every step is one transition; see docs/training.md for the
    sample format. Samples are appended to OUTPUT/manifest.json.
    """
    registry = Registry()
    config = load_from_options(config_path, options, registry).config
    start = time.perf_counter()
    manifest = RolloutCapture(config, registry).capture(
        config.policy.name,
        ticks=ticks,
        towns=towns,
        seed=seed,
        output_dir=output,
        sample_ticks=sample_ticks,
        horizon=horizon,
    )
    seconds = time.perf_counter() - start
    listed = read_manifest(manifest)
    n = ticks * towns * config.world.agents
    click.echo(
        f"captured {n:,} transitions ({ticks:,} ticks x {towns} towns x {config.world.agents} "
        f"slots) with {config.policy.name} in {seconds:.1f} s ({n / seconds:,.0f}/s)\n"
        f"{manifest}: {len(listed.samples)} sample(s) listed, {listed.transitions:,} transitions"
    )
