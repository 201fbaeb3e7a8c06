"""The ``townlet`` command line.

Other distributions add subcommand groups through the ``townlet.cli``
entry-point group (``telemetry = "townlet.telemetry.cli:telemetry"`` gives
``townlet telemetry ...``). They are imported only when invoked.
"""

from __future__ import annotations

import importlib.metadata as md
from typing import Any

import click

from townlet.core import __version__
from townlet.core.errors import TownletError

__all__ = ["main", "townlet"]

CLI_GROUP = "townlet.cli"


class TownletGroup(click.Group):
    """Root group: adds entry-point subcommands and turns user errors into exit 2."""

    def _external(self) -> dict[str, md.EntryPoint]:
        return {ep.name: ep for ep in md.entry_points(group=CLI_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._external()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        ep = self._external().get(cmd_name)
        if ep is None:
            return None
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken add-on must not break the other commands
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
            raise click.ClickException(
                f"the '{cmd_name}' command from {dist} failed to import: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(loaded, click.Command):
            raise click.ClickException(f"entry point {ep.value} is not a click command")
        return loaded

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TownletError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=TownletGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="townlet")
def townlet() -> None:
    """Townlet: a town life-sim for multi-agent reinforcement learning."""


def _register() -> None:
    from townlet.core.cli import (
        capture,
        config_cmds,
        console,
        evaluate,
        plugins,
        promote,
        replay,
        run,
        scenarios,
        snapshot,
        train,
    )

    townlet.add_command(plugins.plugins)
    townlet.add_command(config_cmds.validate)
    townlet.add_command(config_cmds.config)
    townlet.add_command(run.run)
    townlet.add_command(snapshot.snapshot)
    townlet.add_command(console.console)
    townlet.add_command(train.train)
    townlet.add_command(evaluate.evaluate)
    townlet.add_command(promote.promote)
    townlet.add_command(capture.capture_rollout)
    townlet.add_command(replay.replay)
    townlet.add_command(scenarios.scenarios)


_register()


def main() -> None:
    """Console-script entry point."""
    townlet(prog_name="townlet")
