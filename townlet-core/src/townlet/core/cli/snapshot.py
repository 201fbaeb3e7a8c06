"""``townlet snapshot inspect|diff``."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from townlet.core.snapshots import read_snapshot

__all__ = ["snapshot"]


@click.group()
def snapshot() -> None:
    """Inspect and compare snapshot files."""


@snapshot.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the header as JSON.")
def inspect_snapshot(path: Path, as_json: bool) -> None:
    """Show a snapshot's header, counts and checksum status (exit 2 if unusable)."""
    snap = read_snapshot(path)  # raises SnapshotError (exit 2) with the reason
    header = dict(snap.header)
    if as_json:
        click.echo(json.dumps({**header, "checksum_status": "ok"}, indent=2, sort_keys=True))
        return
    click.echo(f"{path}")
    for key in ("format", "schema_version", "config_id", "tick", "townlet_version", "anneal_ratio"):
        click.echo(f"  {key:<16} {header.get(key)}")
    for key in ("observation", "policy", "counts"):
        value = header.get(key) or {}
        click.echo(f"  {key:<16} " + ", ".join(f"{k}={v}" for k, v in value.items()))
    click.echo(f"  {'arrays':<16} {len(snap.arrays)}")
    click.echo(f"  {'checksum':<16} {header['checksum']} (ok)")


@snapshot.command("diff")
@click.argument("first", type=click.Path(path_type=Path))
@click.argument("second", type=click.Path(path_type=Path))
def diff_snapshots(first: Path, second: Path) -> None:
    """Say which parts of two snapshots differ (exit 1 when they do)."""
    a, b = read_snapshot(first), read_snapshot(second)
    lines = []
    for key in ("config_id", "tick", "schema_version"):
        if a.header.get(key) != b.header.get(key):
            lines.append(f"header.{key}: {a.header.get(key)!r} != {b.header.get(key)!r}")
    for name in sorted(set(a.arrays) | set(b.arrays)):
        x, y = a.arrays.get(name), b.arrays.get(name)
        if x is None or y is None:
            lines.append(f"{name}: only in {'second' if x is None else 'first'}")
        elif x.shape != y.shape:
            lines.append(f"{name}: shape {list(x.shape)} != {list(y.shape)}")
        elif not np.array_equal(x, y):
            lines.append(f"{name}: {int(np.count_nonzero(x != y))} of {x.size} values differ")
    for section in sorted(set(a.state) | set(b.state)):
        if a.state.get(section) != b.state.get(section):
            lines.append(f"state.{section}: differs")
    if not lines:
        click.echo("identical")
        return
    click.echo("\n".join(lines))
    raise click.exceptions.Exit(1)
