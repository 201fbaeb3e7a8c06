"""Resolving a scenario name to its plugin and validated config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from townlet.core.config.loader import LoadedConfig, Override, load_config, parse_override
from townlet.core.config.models import TownletConfig
from townlet.core.ports import Scenario
from townlet.core.registry import Registry

__all__ = ["ResolvedScenario", "resolve_scenario"]


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario plugin and its loaded config."""

    name: str
    plugin: Scenario
    loaded: LoadedConfig

    @property
    def config(self) -> TownletConfig:
        """The validated config (its ``timeline`` included)."""
        return self.loaded.config

    @property
    def ticks(self) -> int:
        """Ticks a run of the scenario lasts unless told otherwise."""
        return int(self.plugin.ticks)

    @property
    def description(self) -> str:
        """What happens in the scenario."""
        return str(self.plugin.description)

    @property
    def exercises(self) -> str:
        """The mechanisms it exercises."""
        return str(self.plugin.exercises)

    @property
    def baseline_path(self) -> Path | None:
        """Its golden baseline file, if it has one."""
        return self.plugin.baseline_path()


def resolve_scenario(
    name: str,
    *,
    overrides: Sequence[Override | str] = (),
    registry: Registry | None = None,
) -> ResolvedScenario:
    """Build the scenario plugin ``name`` and load its config with ``overrides``.

    ``overrides`` are :class:`Override` objects or ``"key.path=value"`` strings
    (as ``--set``). Raises :class:`~townlet.core.errors.UnknownPluginError`
    (listing the installed scenarios) or :class:`~townlet.core.errors.ConfigError`.
    """
    registry = registry or Registry()
    plugin: Scenario = registry.build("scenarios", name)
    parsed = [parse_override(o) if isinstance(o, str) else o for o in overrides]
    loaded = load_config(f"scenario:{name}", overrides=parsed, registry=registry)
    return ResolvedScenario(name, plugin, loaded)
