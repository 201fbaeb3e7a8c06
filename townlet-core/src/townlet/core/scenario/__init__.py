"""Scenarios: a scenario plugin resolved to its config, and its golden baselines.

A scenario plugin (entry-point group ``townlet.scenarios``) names a YAML
config that extends a base config, optionally with a ``timeline`` of scripted
console commands. :func:`resolve_scenario` is the one way to turn a scenario
name into a validated config plus the plugin's metadata; ``--scenario NAME``,
``extends: scenario:NAME`` and ``TownletParallelEnv(scenario=NAME)`` load the
same config (the timeline is part of it, so every form of a town runs it).

:mod:`townlet.core.scenario.baselines` runs a scenario for a fixed seed and
ticks and checks the figures it is meant to show against golden bands.
"""

from townlet.core.scenario.baselines import (
    Band,
    Baseline,
    CheckedFigure,
    CheckReport,
    check_scenario,
    measure,
    update_baseline,
)
from townlet.core.scenario.resolve import ResolvedScenario, resolve_scenario

__all__ = [
    "Band",
    "Baseline",
    "CheckReport",
    "CheckedFigure",
    "ResolvedScenario",
    "check_scenario",
    "measure",
    "resolve_scenario",
    "update_baseline",
]
