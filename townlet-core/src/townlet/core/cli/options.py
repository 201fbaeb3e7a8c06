"""Options shared by commands that load a config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from townlet.core.config import LoadedConfig, Override, load_config, parse_override
from townlet.core.registry import Registry

__all__ = ["config_options", "load_from_options", "scenario_option", "set_option"]

F = TypeVar("F", bound=Callable[..., Any])

_SHORTCUTS = {
    "encoder": ("observations", "encoder"),
    "strategy": ("training", "strategy"),
    "policy": ("policy", "name"),
}


set_option = click.option(
    "--set",
    "set_",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override one config value (YAML syntax); repeatable.",
)
"""``--set KEY.PATH=VALUE``, repeatable (read by :func:`load_from_options`)."""

scenario_option = click.option(
    "--scenario",
    metavar="NAME",
    help="Start from a scenario pack instead of the default town.",
)
"""``--scenario NAME`` (read by :func:`load_from_options`)."""


def config_options(func: F) -> F:
    """Add ``--set``, the per-port shortcuts and ``--scenario`` to a command."""
    decorators = [
        set_option,
        click.option(
            "--encoder", metavar="NAME", help="Observation encoder (observations.encoder)."
        ),
        click.option("--strategy", metavar="NAME", help="Training strategy (training.strategy)."),
        click.option("--policy", metavar="NAME", help="Policy (policy.name)."),
        click.option(
            "--sink",
            "sinks",
            multiple=True,
            metavar="NAME",
            help="Telemetry sink, repeatable; replaces telemetry.sinks.",
        ),
        scenario_option,
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def load_from_options(
    config: Path | None, options: dict[str, Any], registry: Registry
) -> LoadedConfig:
    """Load the config a command was given, applying its shortcut and --set options."""
    overrides: list[Override] = []
    for key, loc in _SHORTCUTS.items():
        if options.get(key):
            overrides.append(Override(loc, options[key], f"--{key} {options[key]}"))
    if options.get("sinks"):
        sinks = [{"name": s} for s in options["sinks"]]
        overrides.append(
            Override(("telemetry", "sinks"), sinks, "--sink " + " --sink ".join(options["sinks"]))
        )
    overrides.extend(parse_override(text) for text in options.get("set_", ()))
    source: str | Path | None = config
    if options.get("scenario"):
        if config is not None:
            raise click.UsageError("give either CONFIG or --scenario, not both")
        source = f"scenario:{options['scenario']}"
    return load_config(source, overrides=overrides, registry=registry)
