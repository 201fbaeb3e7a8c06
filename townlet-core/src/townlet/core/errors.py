"""User-facing errors.

Everything here is a mistake the user can fix (a config value, a plugin name,
a missing package). The CLI prints the message and exits with status 2; no
traceback is shown. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "PluginError",
    "PluginImportError",
    "PluginParamsError",
    "PluginVersionError",
    "TownletError",
    "UnknownPluginError",
]


class TownletError(Exception):
    """Base class of user errors; ``str(error)`` is the complete message."""


class ConfigError(TownletError):
    """A config file, override or manifest is invalid.

    The message names the file, the key path and the offending value.
    """


class PluginError(TownletError):
    """A plugin could not be found, imported, checked or built."""


class UnknownPluginError(PluginError):
    """No installed plugin has the requested name in the requested port."""


class PluginImportError(PluginError):
    """A plugin's entry point failed to import."""


class PluginVersionError(PluginError):
    """A plugin was built for another major version of the plugin API."""


class PluginParamsError(PluginError):
    """A plugin's params failed validation against its params model."""
