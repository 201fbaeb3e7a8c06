"""``townlet console``: talk to a running ``townlet run --console-port PORT``."""

from __future__ import annotations

import json
import shlex
import sys
import uuid
from collections.abc import Iterable
from typing import Any

import click
import yaml

from townlet.core.console.commands import COMMANDS
from townlet.core.console.server import send
from townlet.core.errors import TownletError

__all__ = ["console", "parse_command"]


def parse_command(line: str) -> dict[str, Any]:
    """``teleport agent_001 3 4`` or ``teleport agent=agent_001 x=3 y=4`` → request body."""
    words = shlex.split(line)
    if not words:
        raise TownletError("empty command")
    name, rest = words[0], words[1:]
    command = COMMANDS.get(name)
    fields = list(command.args.model_fields) if command else []
    args: dict[str, Any] = {}
    for i, word in enumerate(rest):
        key, sep, value = word.partition("=")
        if not sep:
            if i >= len(fields):
                raise TownletError(f"{name}: too many arguments; expected {' '.join(fields)}")
            key, value = fields[i], word
        parsed = yaml.safe_load(value) if value else ""
        # YAML reads on/off/yes/no as booleans; commands take them as words (blackout on)
        literal = isinstance(parsed, bool) and value.lower() not in ("true", "false")
        keep = literal or isinstance(parsed, (dict, list)) or parsed is None
        args[key] = value if keep else parsed
    return {"command": name, "args": args}


@click.command()
@click.option(
    "--connect",
    "address",
    required=True,
    metavar="HOST:PORT",
    help="Address of a run started with --console-port.",
)
@click.option("--token", envvar="TOWNLET_CONSOLE_TOKEN", help="Token [env TOWNLET_CONSOLE_TOKEN].")
@click.option("--eval", "one_shot", metavar="'COMMAND ARGS'", help="Run one command and exit.")
def console(address: str, token: str | None, one_shot: str | None) -> None:
    """Send console commands; interactive unless --eval is given.

    Commands: {commands}. Arguments are positional in the order `help` shows,
    or key=value. Exit status is 1 when the last command was refused.
    """
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("expected HOST:PORT", param_hint="--connect")
    token = token or ""
    ok = True
    lines: Iterable[str]
    if one_shot is not None:
        lines = [one_shot]
    else:
        click.echo(
            "townlet console: type a command, 'help' for the list, Ctrl-D to leave", err=True
        )
        lines = (line.strip() for line in sys.stdin)
    for line in lines:
        if not line:
            continue
        if line == "help":
            for c in COMMANDS.values():
                fields = " ".join(c.args.model_fields)
                click.echo(f"{c.name} {fields}".rstrip() + f"  [{c.role}] {c.help}")
            continue
        body = parse_command(line)
        request = {"cmd_id": uuid.uuid4().hex, "token": token, **body}
        try:
            (answer,) = send(host, int(port), [request])
        except OSError as exc:
            raise TownletError(f"cannot reach the console at {address}: {exc}") from exc
        click.echo(json.dumps(answer, indent=2 if one_shot is None else None))
        ok = bool(answer.get("ok"))
    if not ok:
        sys.exit(1)


console.help = (console.help or "").replace("{commands}", ", ".join(COMMANDS))
