"""Run configuration: models and the YAML loader."""

from townlet.core.config.loader import (
    DEFAULT_SOURCE,
    LoadedConfig,
    Override,
    check_plugins,
    load_config,
    parse_override,
    resolve_source,
)
from townlet.core.config.models import ConfigPath, PluginChoice, TownletConfig

__all__ = [
    "DEFAULT_SOURCE",
    "ConfigPath",
    "LoadedConfig",
    "Override",
    "PluginChoice",
    "TownletConfig",
    "check_plugins",
    "load_config",
    "parse_override",
    "resolve_source",
]
