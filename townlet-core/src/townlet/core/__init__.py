"""Townlet core: ports, plugin registry, config, simulation and CLI (no torch).

Importing this package imports neither torch nor any plugin implementation.
"""

from importlib.metadata import PackageNotFoundError, version

from townlet.core.hookspecs import hookimpl
from townlet.core.ports import PLUGIN_API_VERSION

try:
    __version__ = version("townlet-core")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["PLUGIN_API_VERSION", "__version__", "hookimpl"]
