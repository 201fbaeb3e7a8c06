"""``townlet replay``: look at replay samples and manifests."""

from __future__ import annotations

from pathlib import Path

import click

from townlet.core.training.replay import ReplayDataset
from townlet.core.training.replay_meta import MANIFEST_NAME
from townlet.core.training.replay_summary import batch_summary, inspect_text

__all__ = ["replay"]


@click.group()
def replay() -> None:
    """Replay samples and manifests."""


@replay.command()
@click.argument("path", metavar="FILE|MANIFEST", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--all-transitions",
    is_flag=True,
    help="Statistics over every transition, not only decisions (acted, not possessed).",
)
def inspect(path: Path, as_json: bool, all_transitions: bool) -> None:
    """Check FILE (a sample's .npz or .json) or MANIFEST (a manifest.json or its
    directory) and print a batch summary: shapes, per-feature statistics, the
    conflict/rivalry features, the action histogram and episode metrics.

    A sample or manifest that fails its checks is refused (exit 2) and the
    message names the file and the field. A manifest's samples are streamed
    (after their sha256 is checked against the manifest); a single sample is
    read whole (each member's CRC checked).
    """
    if path.is_dir() or path.name == MANIFEST_NAME:
        dataset = ReplayDataset.from_manifest(path, streaming=True)
    else:
        dataset = ReplayDataset.from_paths([path])
    summary = batch_summary(dataset, decisions_only=not all_transitions)
    click.echo(summary.model_dump_json(indent=2) if as_json else inspect_text(summary))
