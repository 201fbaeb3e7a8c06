"""The pluggy plugin manager that carries the simulation's event hooks."""

from __future__ import annotations

from dataclasses import dataclass

import pluggy

from townlet.core import hookspecs
from townlet.core.registry import HOOKS_GROUP, Registry

__all__ = ["HookLoadFailure", "make_plugin_manager"]


@dataclass(frozen=True, slots=True)
class HookLoadFailure:
    """A ``townlet`` entry point that could not be imported."""

    name: str
    dist: str | None
    version: str | None
    error: str

    def __str__(self) -> str:
        provider = f"{self.dist} {self.version}" if self.dist else "unknown distribution"
        return f"hook plugin {self.name!r} ({provider}, group {HOOKS_GROUP!r}) failed: {self.error}"


def make_plugin_manager(
    registry: Registry | None = None, *, load_entry_points: bool = True
) -> tuple[pluggy.PluginManager, list[HookLoadFailure]]:
    """Build a plugin manager with the townlet hookspecs.

    Entry points of the ``townlet`` group are loaded one by one (pluggy's
    ``load_setuptools_entrypoints`` stops at the first broken one), so a
    broken plugin is reported and the others still register.
    """
    pm = pluggy.PluginManager("townlet")
    pm.add_hookspecs(hookspecs)
    failures: list[HookLoadFailure] = []
    if not load_entry_points:
        return pm, failures
    for ep in (registry or Registry()).hook_entry_points:
        dist = ep.dist.name if ep.dist is not None else None
        version = ep.dist.version if ep.dist is not None else None
        try:
            plugin = ep.load()
            pm.register(plugin, name=f"{dist}:{ep.name}" if dist else ep.name)
        except Exception as exc:  # a foreign plugin's failure must not stop the others
            failures.append(HookLoadFailure(ep.name, dist, version, f"{type(exc).__name__}: {exc}"))
    return pm, failures
