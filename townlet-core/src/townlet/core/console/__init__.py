"""The operator console: a command bus, its commands and a loopback transport."""

from townlet.core.console.bus import ConsoleBus, Result
from townlet.core.console.commands import COMMANDS

__all__ = ["COMMANDS", "ConsoleBus", "Result"]
