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

__all__ = ["console", "format_answer", "parse_address", "parse_command"]


def parse_command(line: str) -> dict[str, Any]:
    """``teleport agent_001 3 4`` or ``teleport agent=agent_001 x=3 y=4`` → request body."""
    try:
        words = shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise TownletError(f"cannot split {line!r}: {exc}") from None
    if not words:
        raise TownletError("empty command")
    name, rest = words[0], words[1:]
    command = COMMANDS.get(name)
    fields = list(command.args.model_fields) if command else []
    args: dict[str, Any] = {}
    for i, word in enumerate(rest):
        key, sep, value = word.partition("=")
        if not sep:
            if command is None:
                raise TownletError(f"unknown command {name!r}; commands: {', '.join(COMMANDS)}")
            if i >= len(fields):
                raise TownletError(f"{name}: too many arguments; expected {' '.join(fields)}")
            key, value = fields[i], word
        try:
            parsed = yaml.safe_load(value) if value else ""
        except (yaml.YAMLError, ValueError, RecursionError):  # 5,000 digits, [[[[...
            parsed = value
        # Numbers and true/false are typed; everything else stays the word typed (YAML
        # would read on/off/yes/no as booleans and 2026-01-01 as a date: blackout on)
        word_bool = isinstance(parsed, bool) and value.lower() not in ("true", "false")
        typed = isinstance(parsed, int | float) and not word_bool
        args[key] = parsed if typed else value
    return {"command": name, "args": args}


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` → (host, port)."""
    host, _, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter(
            f"{address!r}: expected HOST:PORT ([HOST]:PORT for IPv6)", param_hint="--connect"
        )
    return host, int(port)


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def format_answer(answer: dict[str, Any]) -> str:
    """An answer as readable text: ``ok`` and the data, or ``refused CODE: message``."""
    if not answer.get("ok"):
        return f"refused {answer.get('code')}: {answer.get('message')}"
    lines = ["ok"]
    for key, value in (answer.get("data") or {}).items():
        if isinstance(value, dict) and value:
            lines.append(f"  {key}")
            width = max(len(str(k)) for k in value)
            lines.extend(f"    {k!s:<{width}}  {_value(v)}" for k, v in value.items())
        else:
            lines.append(f"  {key}  {_value(value)}")
    return "\n".join(lines)


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
@click.option("--json", "as_json", is_flag=True, help="Print each answer as one JSON line.")
def console(address: str, token: str | None, one_shot: str | None, as_json: bool) -> None:
    """Send console commands; interactive unless --eval is given.

    Commands: {commands}. Arguments are positional in the order `help` shows,
    or key=value. Answers print as text (`ok` and the data, or `refused CODE:
    message`), or as JSON with --json. Exit status is 1 when the last command
    was refused.
    """
    host, port = parse_address(address)
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
        try:
            body = parse_command(line)
        except TownletError as exc:
            if one_shot is not None:
                raise
            click.echo(f"Error: {exc}", err=True)
            ok = False
            continue
        request = {"cmd_id": uuid.uuid4().hex, "token": token, **body}
        try:
            (answer,) = send(host, port, [request])
        except OSError as exc:
            raise TownletError(f"cannot reach the console at {address}: {exc}") from exc
        if not isinstance(answer, dict):
            raise TownletError(f"the console at {address} answered {answer!r}, not an object")
        click.echo(json.dumps(answer) if as_json else format_answer(answer))
        ok = bool(answer.get("ok"))
    if not ok:
        sys.exit(1)


console.help = (console.help or "").replace("{commands}", ", ".join(COMMANDS))
