"""``townlet validate`` and ``townlet config show``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click
import yaml

from townlet.core.cli.options import config_options, load_from_options
from townlet.core.config import LoadedConfig, check_plugins
from townlet.core.errors import ConfigError
from townlet.core.hooks import make_plugin_manager
from townlet.core.observations.encoders import DEFAULT_ENCODER
from townlet.core.registry import Registry
from townlet.core.world.affordances import load_affordances
from townlet.core.world.townmap import load_town
from townlet.core.world.world import World

__all__ = ["check_config", "config", "validate"]

_CONFIG_ARG = click.argument(
    "config_path", metavar="[CONFIG]", required=False, type=click.Path(path_type=Path)
)


@click.command()
@_CONFIG_ARG
@config_options
def validate(config_path: Path | None, **options: Any) -> None:
    """Check CONFIG (default: the built-in town), the town file and affordance manifest
    it references, every plugin it names and their params.

    Runs nothing. Exits 0 when valid, 2 with every problem listed otherwise.
    """
    registry = Registry()
    loaded = load_from_options(config_path, options, registry)
    problems = check_config(loaded, registry)
    # Hook plugins are not selected by the config; a broken one is skipped at run
    # time, so it is a warning here.
    for failure in make_plugin_manager(registry)[1]:
        click.echo(f"Warning: {failure}", err=True)
    if problems:
        raise ConfigError("\n".join(problems))
    files = ", ".join(str(f) for f in loaded.files)
    click.echo(f"OK: {loaded.config.config_id} ({files})")


def check_config(loaded: LoadedConfig, registry: Registry) -> list[str]:
    """Every problem ``townlet run`` would refuse ``loaded`` for; empty when it is valid.

    Resolves the plugins the config selects and validates their params, loads
    the town file and affordance manifest, and builds the world from them with
    the code a run uses (so a town and manifest that disagree are caught too).
    """
    cfg = loaded.config
    if cfg.observations.encoder is None:  # its params still go to the default encoder
        observations = cfg.observations.model_copy(update={"encoder": DEFAULT_ENCODER})
        cfg = cfg.model_copy(update={"observations": observations})
    problems = check_plugins(dataclasses.replace(loaded, config=cfg), registry)
    world = loaded.config.world
    files_ok = True
    for load, path in ((load_town, world.town), (load_affordances, world.affordances)):
        try:
            load(path)
        except ConfigError as exc:
            problems.append(str(exc))
            files_ok = False
    if files_ok:
        try:
            World.from_config(loaded.config)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


@click.group()
def config() -> None:
    """Inspect configs."""


@config.command("show")
@_CONFIG_ARG
@config_options
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
def show(config_path: Path | None, fmt: str, **options: Any) -> None:
    """Print the fully resolved config (bases merged, overrides applied)."""
    loaded = load_from_options(config_path, options, Registry())
    data = loaded.config.model_dump(mode="json")
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)


@config.command("reference")
def reference() -> None:
    """Print the markdown table of every config key (the one in docs/config.md)."""
    from townlet.core.config.reference import reference_markdown

    click.echo(reference_markdown(), nl=False)
